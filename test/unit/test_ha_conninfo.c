/*-------------------------------------------------------------------------
 * test_ha_conninfo.c
 *	  Unit tests of src/ha/ha_conninfo.c.
 *
 * Covers: haConninfoRedact in key=value form (bare and quoted values,
 * escaped quotes, spaces around '=', any case of the keyword,
 * sslpassword, a keyword that only contains "password", an unterminated
 * quote, nothing to hide, empty) and in URI form (user:password@, '@' in
 * the password, no password, ?password= among other parameters, a
 * fragment, postgres:// too).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "ha/ha_conninfo.h"
#include "tap.h"

static void
check(const char *in, const char *want, const char *what)
{
	char	   *got = haConninfoRedact(in);

	is_str(got, want, "%s", what);
	pfree(got);
}

int
main(void)
{
	check("host=10.0.0.2 port=5432 user=rep password=s3cret dbname=postgres",
		  "host=10.0.0.2 port=5432 user=rep password=******** dbname=postgres",
		  "a bare password hidden");
	check("host=a password='two words \\' quote' user=x",
		  "host=a password='********' user=x", "a quoted password with an escaped quote");
	check("host=a  password = s3cret  port=1", "host=a  password = ********  port=1",
		  "spaces around '=' kept, the value hidden");
	check("PassWord=x sslpassword=y", "PassWord=******** sslpassword=********",
		  "any case; sslpassword too");
	check("passwordfile=/x host=a", "passwordfile=/x host=a",
		  "a keyword that only begins with password is shown");
	check("host=a password='open", "host=a password=********",
		  "an unterminated quote: the rest hidden");
	check("host=a port=5432", "host=a port=5432", "nothing to hide");
	check("", "", "empty");
	check("host=a application_name='x y'", "host=a application_name='x y'",
		  "a quoted value that is no secret kept");
	check("postgresql://rep:s3cret@10.0.0.2:5432/postgres",
		  "postgresql://rep:********@10.0.0.2:5432/postgres", "URI: the userinfo's password");
	check("postgresql://rep:p@ss@host/db", "postgresql://rep:********@host/db",
		  "URI: an '@' in the password");
	check("postgresql://rep@host/db?sslmode=require",
		  "postgresql://rep@host/db?sslmode=require", "URI without a password: as is");
	check("postgresql://host/db?sslmode=require&password=x&user=u#frag",
		  "postgresql://host/db?sslmode=require&password=********&user=u#frag",
		  "URI: the password parameter hidden, the rest and the fragment kept");
	check("postgres://u:x@h", "postgres://u:********@h", "postgres:// too");
	return tapDone();
}
