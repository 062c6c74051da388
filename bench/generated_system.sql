-- Bench only: a system layer comparable to the HotCRM corpus when METADATA_CORPUS is not
-- set: object `account` with 40 fields (about the size and shape of HotCRM's account) and
-- 64 other objects of 10-40 fields, saved as package rows with metadata.bulk_save.

WITH account_fields(name, def) AS (
    VALUES
    ('name', '{"type": "text", "label": "Account Name", "required": true, "unique": true, "maxLength": 255}'::jsonb),
    ('account_number', '{"type": "text", "label": "Account Number", "unique": true, "maxLength": 40}'),
    ('type', '{"type": "select", "label": "Account Type", "options": [{"label": "Prospect", "value": "prospect"}, {"label": "Customer", "value": "customer"}, {"label": "Partner", "value": "partner"}, {"label": "Competitor", "value": "competitor"}, {"label": "Other", "value": "other"}]}'),
    ('industry', '{"type": "select", "label": "Industry", "options": [{"label": "Technology", "value": "technology"}, {"label": "Finance", "value": "finance"}, {"label": "Manufacturing", "value": "manufacturing"}, {"label": "Retail", "value": "retail"}, {"label": "Healthcare", "value": "healthcare"}, {"label": "Education", "value": "education"}, {"label": "Energy", "value": "energy"}, {"label": "Other", "value": "other"}]}'),
    ('annual_revenue', '{"type": "currency", "label": "Annual Revenue", "precision": 18, "scale": 2}'),
    ('number_of_employees', '{"type": "number", "label": "Employees", "precision": 10, "scale": 0}'),
    ('rating', '{"type": "select", "label": "Rating", "options": [{"label": "Hot", "value": "hot", "color": "#FF0000"}, {"label": "Warm", "value": "warm", "color": "#FFA500"}, {"label": "Cold", "value": "cold", "color": "#0000FF"}]}'),
    ('phone', '{"type": "phone", "label": "Phone"}'),
    ('fax', '{"type": "phone", "label": "Fax"}'),
    ('website', '{"type": "url", "label": "Website"}'),
    ('email', '{"type": "email", "label": "Email"}'),
    ('customer_status', '{"type": "select", "label": "Customer Status", "defaultValue": "prospect", "options": [{"label": "Prospect", "value": "prospect"}, {"label": "Active", "value": "active"}, {"label": "Churned", "value": "churned"}]}'),
    ('description', '{"type": "textarea", "label": "Description", "maxLength": 32000}'),
    ('sla_tier', '{"type": "select", "label": "SLA Tier", "options": [{"label": "Platinum", "value": "platinum"}, {"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}, {"label": "Standard", "value": "standard"}]}'),
    ('health_score', '{"type": "number", "label": "Health Score", "min": 0, "max": 100, "readonly": true}'),
    ('next_renewal_date', '{"type": "date", "label": "Next Renewal"}'),
    ('contract_value', '{"type": "currency", "label": "Contract Value", "precision": 18, "scale": 2}'),
    ('owner_id', '{"type": "lookup", "label": "Owner", "reference": "user", "required": true}'),
    ('parent_id', '{"type": "lookup", "label": "Parent Account", "reference": "account"}')
)
, address_fields AS (
    SELECT format('%s_%s', kind, part) AS name,
           jsonb_build_object('type', CASE WHEN part = 'street' THEN 'textarea' ELSE 'text' END,
                              'label', format('%s %s', initcap(kind), initcap(replace(part, '_', ' '))),
                              'maxLength', CASE WHEN part = 'street' THEN 255 ELSE 80 END) AS def
    FROM unnest(ARRAY['billing', 'shipping']) AS kind,
         unnest(ARRAY['street', 'city', 'state', 'postal_code', 'country']) AS part
)
, extra_fields AS (
    SELECT format('custom_%s', i) AS name,
           jsonb_build_object('type', (ARRAY['text', 'number', 'boolean', 'date', 'select'])[1 + i % 5],
                              'label', format('Custom field %s', i),
                              'description', format('Extension attribute %s of the account', i),
                              'searchable', i % 2 = 0) AS def
    FROM generate_series(1, 11) AS i
)
, account AS (
    SELECT jsonb_build_object(
        'name', 'account',
        'label', 'Account',
        'pluralLabel', 'Accounts',
        'icon', 'building',
        'description', 'Companies and organisations the business deals with',
        'fields', (SELECT jsonb_object_agg(f.name, f.def)
                   FROM (SELECT * FROM account_fields UNION ALL SELECT * FROM address_fields
                         UNION ALL SELECT * FROM extra_fields) AS f),
        'enable', '{"searchable": true, "trackHistory": true, "activities": true, "feeds": true, "files": true}'::jsonb
    ) AS doc
)
, others AS (
    SELECT format('object_%s', lpad(o::text, 2, '0')) AS name,
           jsonb_build_object(
               'name', format('object_%s', lpad(o::text, 2, '0')),
               'label', format('Object %s', o),
               'icon', 'box',
               'fields', (SELECT jsonb_object_agg(format('field_%s', f),
                                     jsonb_build_object('type', (ARRAY['text', 'number', 'boolean', 'date'])[1 + f % 4],
                                                        'label', format('Field %s', f),
                                                        'required', f = 1))
                          FROM generate_series(1, 10 + o % 31) AS f),
               'enable', '{"searchable": true}'::jsonb) AS doc
    FROM generate_series(1, 64) AS o
)
SELECT metadata.bulk_save(jsonb_agg(item || '{"scope": "system", "managed_by": "package", "source": "filesystem", "package_id": "bench_generated", "package_version": "1.0.0"}'::jsonb))
FROM (
    SELECT jsonb_build_object('type', 'object', 'name', 'account', 'metadata', doc) AS item FROM account
    UNION ALL
    SELECT jsonb_build_object('type', 'object', 'name', name, 'metadata', doc) FROM others
) AS items(item);
