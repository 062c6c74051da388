-- Canonical JSON, checksums and RFC 7396 merge (DESIGN §2, RFC 7396).
\set SHOW_CONTEXT never
CALL regress.reset();

-- Keys sorted by code point, no whitespace, numbers exactly as stored.
SELECT metadata.canonical('{"b": 1, "a": {"z": [3, {"y": null, "x": true}]}, "é": 1.50, "Z": "q\"t"}');
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
