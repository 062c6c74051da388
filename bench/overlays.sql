-- Bench only: the overlays of object `account` over the system layer (corpus or
-- generated): the measured audience (tenant acme, user u42) and noise that a resolver must
-- filter out (200 other tenants' platform overlays, 20 other acme users' overlays).
-- Every overlay is an RFC 7396 merge patch saved through metadata.save.

-- Tenant acme, platform scope: relabel the object and a field, make a field required,
-- delete a field and the description, add a field.
SET metadata.tenant_id = 'acme';
SELECT metadata.save('object', 'account', $doc${
    "label": "Account (ACME)",
    "description": null,
    "fields": {
        "industry": {"label": "Sector", "required": true},
        "rating": null,
        "acme_region": {
            "type": "select",
            "label": "Region",
            "options": [
                {"label": "EMEA", "value": "emea"},
                {"label": "Americas", "value": "amer"},
                {"label": "APAC", "value": "apac"}
            ]
        }
    },
    "enable": {"feeds": false}
}$doc$::jsonb, scope => 'platform');

-- User u42 of acme, user scope: own label, field tweaks, a field hidden.
SET metadata.user_id = 'u42';
SELECT metadata.save('object', 'account', $doc${
    "label": "My key accounts",
    "fields": {
        "name": {"label": "Account name", "maxLength": 120},
        "industry": {"required": false},
        "phone": null,
        "acme_region": {"defaultValue": "emea"}
    }
}$doc$::jsonb, scope => 'user');

-- Noise: 20 other acme users with their own overlay of the same item.
DO $noise$
BEGIN
    FOR i IN 1..20 LOOP
        PERFORM set_config('metadata.user_id', format('u%s', 1000 + i), true);
        PERFORM metadata.save('object', 'account',
            jsonb_build_object('label', format('Accounts of u%s', 1000 + i),
                               'fields', jsonb_build_object('website', NULL)),
            scope => 'user');
    END LOOP;
END
$noise$;

-- Noise: 200 other tenants, each with a platform overlay of the same item.
RESET metadata.user_id;
DO $noise$
BEGIN
    FOR i IN 1..200 LOOP
        PERFORM set_config('metadata.tenant_id', format('t%s', lpad(i::text, 3, '0')), true);
        PERFORM metadata.save('object', 'account',
            jsonb_build_object('label', format('Account t%s', i),
                               'fields', jsonb_build_object(
                                   'industry', jsonb_build_object('label', format('Industry of t%s', i)),
                                   'fax', NULL)),
            scope => 'platform');
    END LOOP;
END
$noise$;
RESET metadata.tenant_id;

VACUUM ANALYZE metadata.sys_metadata;
