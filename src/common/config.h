/*-------------------------------------------------------------------------
 * config.h
 *	  The pg_dr configuration file, read by the server (GUC
 *	  pg_dr.config_file) and by the CLI (--config), so the CLI works while
 *	  the server is down.
 *
 * Format: one "name = value" per line; '#' starts a comment; blank lines
 * are ignored; a value may be quoted with '...' or "...".  Each repository
 * has settings named repoN_* with N in 1..CONFIG_REPO_MAX.  Unknown names,
 * repeated names, bad values and missing required settings are errors that
 * name the file and line.  The effective configuration (every setting, with
 * defaults filled in and secrets hidden) is kept as a list of items for the
 * dr_config view and `pg_dr info`.
 *
 * Settings (see docs/configuration.md):
 *	 repoN_type             posix                      (required per repo)
 *	 repoN_path             absolute path              (required per repo)
 *	 repoN_cipher_type      aes-256-gcm | none         (default aes-256-gcm)
 *	 repoN_cipher_key_file  absolute path of the passphrase file
 *	                        (required when the cipher is aes-256-gcm)
 *	 repoN_retention_full   1..99999: full backups kept by dr_expire()
 *	                        (default unset: keep everything)
 *	 repoN_retention_full_days  1..99999: a full backup younger than this
 *	                        many days is kept even beyond retention_full
 *	 compress_type          zstd | none                (default zstd)
 *	 compress_level         1..19                      (default 3)
 *-------------------------------------------------------------------------
 */
#ifndef DR_CONFIG_H
#define DR_CONFIG_H

#include "common/error.h"

#define CONFIG_REPO_MAX			4
#define CONFIG_LINE_MAX			4096

typedef enum ConfigRepoType
{
	CONFIG_REPO_POSIX = 1
} ConfigRepoType;

typedef enum ConfigCipher
{
	CONFIG_CIPHER_AES256GCM = 1,
	CONFIG_CIPHER_NONE
} ConfigCipher;

typedef struct ConfigRepo
{
	int			index;			/* N of repoN; 0 = this slot is unused */
	ConfigRepoType type;
	char	   *path;			/* absolute, no trailing slash */
	ConfigCipher cipher;
	char	   *cipherKeyFile;	/* NULL when cipher is none */
	int			compressLevel;	/* 0 = no compression; from compress_* */
	int			retentionFull;	/* full backups kept; 0 = unset, keep all */
	int			retentionFullDays;	/* fulls younger than this kept; 0 = unset */
} ConfigRepo;

/* One effective setting, for display. */
typedef struct ConfigItem
{
	char	   *name;
	char	   *value;			/* "********" for secrets */
	char	   *source;			/* "file:line" or "default" */
	bool		secret;
} ConfigItem;

typedef struct DrConfig
{
	char	   *path;			/* file it came from, or the source name */
	ConfigRepo	repo[CONFIG_REPO_MAX + 1];	/* 1-based; repo[0] unused */
	int			repoCount;		/* how many repoN are configured */
	int			compressLevel;	/* 0 when compress_type = none */
	int			itemCount;
	ConfigItem *items;			/* sorted by name */
} DrConfig;

/*
 * Read and check a configuration file.  Errors are DR_ERR_NOT_FOUND /
 * DR_ERR_IO for the file itself and DR_ERR_CONFIG for its content, with the
 * message naming file and line.
 */
extern DrConfig *configLoad(const char *path, DrError *err);

/* Same, from text in memory (tests, fuzzing); sourceName names it. */
extern DrConfig *configParse(const char *text, size_t len,
							 const char *sourceName, DrError *err);

extern void configFree(DrConfig *config);

/*
 * Whether a setting of this name holds a secret, shown as "********" in the
 * items: names ending in _key, _secret, _password, _passphrase, _token or
 * _credential(s).  A *_key_file names a file and is shown.
 */
extern bool configNameIsSecret(const char *name);

/* The first configured repository, or NULL (with DR_ERR_CONFIG) if none. */
extern const ConfigRepo *configRepoFirst(const DrConfig *config, DrError *err);

#endif							/* DR_CONFIG_H */
