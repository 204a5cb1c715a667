-- 007_input: arguments and configuration files that try to smuggle
-- something in (issue 8, items 5 and 12): control characters in backup
-- labels and restore point names, a passphrase written in place of the key
-- file's path, an empty configuration file.  Nothing here needs a
-- repository: the checks come first.
\set VERBOSITY default

-- a newline in a label would add a line to backup_label
SELECT dr_backup_full(E'x\nSTART TIMELINE: 7');
SELECT dr_backup_incremental(NULL, E'nightly\tlabel');
SELECT dr_backup_full(E'bell\x07');
SELECT dr_backup_full(repeat('x', 1001));

-- restore point names: one line, 1 to 63 bytes
SELECT dr_restore_point(E'before\nbatch');
SELECT dr_restore_point(E'cr\r');
SELECT dr_restore_point(E'del\x7f');
SELECT dr_restore_point('');
SELECT dr_restore_point(repeat('n', 64));
-- none of them was written
SELECT count(*) FROM dr_restore_points
 WHERE name LIKE 'before%' OR name LIKE 'cr%' OR name LIKE 'del%' OR name LIKE 'nnn%';

-- configuration files, written into the data directory by the server
SELECT current_setting('data_directory') AS datadir \gset
CREATE TEMP TABLE conf (line text);
CREATE FUNCTION pg_temp.fails(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state text; msg text; hint text;
BEGIN
	EXECUTE query;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
							hint = PG_EXCEPTION_HINT;
	RETURN replace(state || ': ' || msg || coalesce(' (hint: ' || nullif(hint, '') || ')', ''),
				   current_setting('data_directory'), '$PGDATA');
END
$$;
CREATE FUNCTION pg_temp.write_conf(name text, lines text[]) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM conf;
	INSERT INTO conf SELECT unnest(lines);
	EXECUTE format('COPY conf TO %L', current_setting('data_directory') || '/' || name);
	RETURN current_setting('data_directory') || '/' || name;
END
$$;

-- a passphrase where the key file's path belongs: named, never shown
SELECT pg_temp.write_conf('passphrase.conf', ARRAY[
	'repo1_type = posix',
	'repo1_path = ' || :'datadir' || '/repo_input',
	'repo1_cipher_key_file = ''correct horse battery staple''']) AS conf \gset
SET pg_dr.config_file = :'conf';
SELECT config_ok, replace(config_error, :'datadir', '$PGDATA') AS config_error,
	   position('horse' IN config_error) AS shows_secret
  FROM dr_status;
SELECT pg_temp.fails('SELECT * FROM dr_config');

-- an empty file is an error that says so
SELECT pg_temp.write_conf('empty.conf', ARRAY[]::text[]) AS conf \gset
SET pg_dr.config_file = :'conf';
SELECT config_ok, replace(config_error, :'datadir', '$PGDATA') AS config_error
  FROM dr_status;
RESET pg_dr.config_file;
