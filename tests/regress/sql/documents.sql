-- Canonical JSON, checksums and RFC 7396 merge (DESIGN §2, RFC 7396).
\set SHOW_CONTEXT never
CALL regress.reset();

-- RFC 8785 as ObjectStack's hashSpec: keys sorted by UTF-16 code units (array-index keys
-- first, in numeric order, as JSON.stringify writes them), no whitespace, numbers in
-- ECMAScript form.
SELECT metadata.canonical('{"b": 1, "a": {"z": [3, {"y": null, "x": true}]}, "é": 1.50, "Z": "q\"t"}');
SELECT metadata.canonical(d), metadata.checksum(d) AS checksum,
       -- hashSpec(JSON.parse(d)) computed by @objectstack/metadata-core 17.4.0:
       metadata.checksum(d) = 'sha256:efc1aadaf10645787c0f0ed6e9611caee644aa393eb9305ddb2d16b155e8ccec' AS equals_hash_spec
FROM (VALUES ('{"max": 1.50, "min": 0.0, "big": 1e21, "steps": {"10": "x", "9": "y", "\ud83d\ude00": 1, "\ufb01": 2}}'::jsonb)) AS v(d);
-- A number a double cannot hold keeps its exact value (JavaScript would round it).
SELECT metadata.canonical('[9007199254740993, 0.1000000000000000000001]');
-- Key order and whitespace do not change the checksum; content does.
SELECT metadata.checksum('{"a": 1, "b": [1, 2]}') = metadata.checksum('{"b":[1,2],"a":1}') AS same,
       metadata.checksum('{"a": 1, "b": [1, 2]}') = metadata.checksum('{"a": 1, "b": [2, 1]}') AS reordered_array_same;
-- sha256 of the text "{}" (printf '{}' | sha256sum).
SELECT metadata.checksum('{}');
-- The checksum is the SHA-256 of the canonical text.
SELECT metadata.checksum(d) = 'sha256:' || encode(sha256(convert_to(metadata.canonical(d), 'UTF8')), 'hex') AS matches
FROM (VALUES ('{"x": [1, "два", {"k": null}], "a": 1e3}'::jsonb)) AS t(d);

-- RFC 7396 Appendix A, every example: target, patch, expected result.
SELECT t.n, metadata.merge_patch(t.target, t.patch) = t.expected AS ok, metadata.merge_patch(t.target, t.patch) AS result
FROM (VALUES
  (1,  '{"a":"b"}'::jsonb,           '{"a":"c"}'::jsonb,                  '{"a":"c"}'::jsonb),
  (2,  '{"a":"b"}',                  '{"b":"c"}',                         '{"a":"b","b":"c"}'),
  (3,  '{"a":"b"}',                  '{"a":null}',                        '{}'),
  (4,  '{"a":"b","b":"c"}',          '{"a":null}',                        '{"b":"c"}'),
  (5,  '{"a":["b"]}',                '{"a":"c"}',                         '{"a":"c"}'),
  (6,  '{"a":"c"}',                  '{"a":["b"]}',                       '{"a":["b"]}'),
  (7,  '{"a":{"b":"c"}}',            '{"a":{"b":"d","c":null}}',          '{"a":{"b":"d"}}'),
  (8,  '{"a":[{"b":"c"}]}',          '{"a":[1]}',                         '{"a":[1]}'),
  (9,  '["a","b"]',                  '["c","d"]',                         '["c","d"]'),
  (10, '{"a":"b"}',                  '["c"]',                             '["c"]'),
  (11, '{"a":"foo"}',                'null',                              'null'),
  (12, '{"a":"foo"}',                '"bar"',                             '"bar"'),
  (13, '{"e":null}',                 '{"a":1}',                           '{"e":null,"a":1}'),
  (14, '[1,2]',                      '{"a":"b","c":null}',                '{"a":"b"}'),
  (15, '{}',                         '{"a":{"bb":{"ccc":null}}}',         '{"a":{"bb":{}}}')
) AS t(n, target, patch, expected)
ORDER BY t.n;
-- SQL NULL in, SQL NULL out (JSON null is a value).
SELECT metadata.merge_patch(NULL, '{}') IS NULL AS null_target, metadata.merge_patch('{}', NULL) IS NULL AS null_patch;

-- Limits: 100 levels of nesting are fine, 101 are refused with the pointer; 4 MiB of text.
SELECT length(metadata.checksum((repeat('{"a":', 100) || '1' || repeat('}', 100))::jsonb)) AS depth_100_ok;
SELECT regress.fails($$SELECT metadata.checksum((repeat('[', 101) || repeat(']', 101))::jsonb)$$);
SELECT regress.fails($$SELECT metadata.checksum(jsonb_build_object('x', repeat('a', 5 * 1024 * 1024)))$$);
