-- 003_config: the configuration file, as the server reads it.
\set VERBOSITY default

-- not configured yet
SELECT * FROM dr_config;
SELECT config_ok, config_error, repositories, repository_ok FROM dr_status;

-- write configuration files into the data directory
SELECT current_setting('data_directory') AS datadir \gset
CREATE TEMP TABLE conf (line text);

-- run a query that must fail; show SQLSTATE, message and hint with the data
-- directory (which differs from machine to machine) replaced
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

SELECT pg_temp.write_conf('good.conf', ARRAY[
	'# pg_dr test configuration',
	'repo1_type = posix',
	'repo1_path = ' || :'datadir' || '/repo1',
	'repo1_cipher_key_file = ''' || :'datadir' || '/repo1.key''',
	'',
	'compress_level = 6']) AS good \gset
SET pg_dr.config_file = :'good';

SELECT name, replace(value, :'datadir', '$PGDATA') AS value,
	   regexp_replace(source, '^.*/', '') AS source
  FROM dr_config;

-- the repository is configured but was never created
SELECT config_ok, repositories, repository_ok,
	   replace(repository_error, :'datadir', '$PGDATA') AS repository_error
  FROM dr_status;

-- errors name the file and the line
SELECT pg_temp.write_conf('typo.conf', ARRAY[
	'repo1_type = posix',
	'repo1_pth = /srv/repo']) AS typo \gset
SET pg_dr.config_file = :'typo';
SELECT pg_temp.fails('SELECT * FROM dr_config');
SELECT config_ok, replace(config_error, :'datadir', '$PGDATA') AS config_error FROM dr_status;

SELECT pg_temp.write_conf('badvalue.conf', ARRAY[
	'repo1_type = posix',
	'repo1_path = /srv/repo',
	'repo1_cipher_type = none',
	'compress_type = lz4']) AS badvalue \gset
SET pg_dr.config_file = :'badvalue';
SELECT pg_temp.fails('SELECT * FROM dr_config');

SET pg_dr.config_file = '/nonexistent/pg_dr.conf';
SELECT pg_temp.fails('SELECT * FROM dr_config');


-- only superusers may point a session elsewhere
CREATE ROLE dr_regress_op IN ROLE dr_operator;
SET ROLE dr_regress_op;
SET pg_dr.config_file = '/tmp/x.conf';
RESET ROLE;
DROP ROLE dr_regress_op;
RESET pg_dr.config_file;
