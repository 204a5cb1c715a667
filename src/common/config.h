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
 *	 compress_type          zstd | none                (default zstd)
 *	 compress_level         1..19                      (default 3)
 *	 alert_webhook_url      http(s) URL: a JSON POST per alert event of any
 *	                        severity (default unset: no webhook; hidden)
 *	 alert_webhook_url_warning, alert_webhook_url_critical
 *	                        http(s) URL for that severity's events, in place
 *	                        of alert_webhook_url (hidden)
 *	 alert_webhook_timeout  1..300 seconds one POST may take (unset: 10)
 *	 alert_escalate_after   1..604800 seconds after which an alert nobody
 *	                        acknowledged escalates (unset: never)
 * and, for each repository N, the settings every repository has:
 *	 repoN_type             a registered storage driver (required per repo)
 *	 repoN_cipher_type      aes-256-gcm | none         (default aes-256-gcm)
 *	 repoN_cipher_key_file  absolute path of the passphrase file
 *	                        (required when the cipher is aes-256-gcm)
 *	 repoN_retention_full   1..99999: full backups kept by dr_expire()
 *	                        (default unset: keep everything)
 *	 repoN_retention_full_days  1..99999: a full backup younger than this
 *	                        many days is kept even beyond retention_full
 *	 repoN_required         on | off: archiving waits for this repository
 *	                        (default on for the first configured one, normally
 *	                        repo1, off for the others; at least one is on)
 * plus the settings of the repository's storage driver (posix:
 * repoN_path), which each driver declares in a ConfigDriver (below), and
 * the settings of high availability (ha_*: DrHaConfig below).
 *
 * Driver settings: config.c names no driver.  Each storage driver
 * describes its keys in a ConfigDriver, and storageDriversRegister()
 * (storage.h) registers every driver once at startup (the server's
 * _PG_init, the CLI's main, the unit tests, the fuzz targets) before any
 * configuration is parsed.  The parser reads the whole file first, then
 * routes each repoN_<key> that is not a common setting to the driver named
 * by repoN_type (so the order of the lines does not matter), checks each
 * value against its key's description, fills in defaults, checks required
 * keys and calls the driver's validate callback for rules across keys.
 * The result is the repository's settings list (ConfigRepo.settings), which
 * the driver reads when it opens the repository (storageOpen).
 *-------------------------------------------------------------------------
 */
#ifndef DR_CONFIG_H
#define DR_CONFIG_H

#include "common/error.h"

#define CONFIG_REPO_MAX			4
#define CONFIG_LINE_MAX			4096

typedef enum ConfigCipher
{
	CONFIG_CIPHER_AES256GCM = 1,
	CONFIG_CIPHER_NONE
} ConfigCipher;

/* What a driver setting holds, and so how its value is checked. */
typedef enum ConfigKind
{
	CONFIG_KIND_STRING,			/* any non-empty text */
	CONFIG_KIND_PATH,			/* absolute path; trailing slashes dropped */
	CONFIG_KIND_INT,			/* decimal digits, min..max */
	CONFIG_KIND_BOOL,			/* on/off, true/false, yes/no, 1/0: "on"/"off" */
	CONFIG_KIND_SIZE,			/* bytes, or with a unit B, kB, MB, GB, TB
								 * (powers of 1024, any case, also KiB...):
								 * stored as a number of bytes, min..max */
	CONFIG_KIND_ENUM,			/* one of allowed (any case; stored as listed) */
	CONFIG_KIND_SECRET,			/* non-empty text, never shown */
	CONFIG_KIND_URL				/* an http:// or https:// URL with a host, no
								 * white space or control character */
} ConfigKind;

/* One key a storage driver accepts, as repoN_<name>. */
typedef struct ConfigKeyDef
{
	const char *name;			/* [a-z0-9_], not a common repository key */
	ConfigKind	kind;
	const char *defaultValue;	/* as written in a file; NULL: unset */
	bool		required;
	int64		min;			/* INT and SIZE: inclusive bounds */
	int64		max;
	const char *const *allowed; /* ENUM: NULL-terminated, lower case */
	bool		secret;			/* never shown (implied by CONFIG_KIND_SECRET) */
	const char *example;		/* value shown in the hint when required and
								 * missing, e.g. "'/absolute/path'" */
} ConfigKeyDef;

/* One driver key of a repository, as in effect. */
typedef struct ConfigSetting
{
	const ConfigKeyDef *def;
	char	   *value;			/* canonical form; NULL when unset */
	int			line;			/* line of the file; 0 = default or set by
								 * configRepoSet */
} ConfigSetting;

typedef struct ConfigDriver ConfigDriver;

typedef struct ConfigRepo
{
	int			index;			/* N of repoN; 0 = this slot is unused */
	const ConfigDriver *driver; /* from repoN_type */
	char	   *path;			/* where the repository is, as its driver's
								 * location key says (posix: repoN_path,
								 * absolute, no trailing slash): names the
								 * repository in messages */
	ConfigCipher cipher;
	char	   *cipherKeyFile;	/* NULL when cipher is none */
	int			compressLevel;	/* 0 = no compression; from compress_* */
	int			retentionFull;	/* full backups kept; 0 = unset, keep all */
	int			retentionFullDays;	/* fulls younger than this kept; 0 = unset */
	bool		required;		/* repoN_required: WAL archiving succeeds
								 * only once a file is durable here (default:
								 * on for the first configured repository) */
	int			settingCount;	/* driver->keyCount once set */
	ConfigSetting *settings;	/* one per key of the driver, in its order */
} ConfigRepo;

/*
 * Checks of a driver's validate callback: configCheckError() reports a
 * problem on the line of a key (a driver key or a common one such as
 * "cipher_key_file"), or about the repository as a whole when key is NULL
 * or was not set in the file.
 */
typedef struct ConfigCheck ConfigCheck;
typedef bool (*ConfigDriverValidate) (const ConfigRepo *repo,
									  ConfigCheck *check);

struct ConfigDriver
{
	const char *type;			/* the value of repoN_type, lower case */
	const ConfigKeyDef *keys;
	int			keyCount;
	const char *locationKey;	/* the required key saying where the
								 * repository is (ConfigRepo.path): two
								 * repositories of the type may not share it */
	ConfigDriverValidate validate;	/* optional: rules across keys */
};

/*
 * Register a driver's settings; a driver registered twice counts once.
 * Drivers are registered by storageDriversRegister() (storage.h).
 */
extern void configDriverRegister(const ConfigDriver *driver);
/* The registered driver of that type (any case), or NULL. */
extern const ConfigDriver *configDriverFind(const char *type);

/* Always returns false; see ConfigCheck. */
extern bool configCheckError(ConfigCheck *check, const char *key,
							 const char *fmt,...) pg_attribute_printf(3, 4);
extern void configCheckHint(ConfigCheck *check, const char *fmt,...) pg_attribute_printf(2, 3);

/*
 * A driver key's value (canonical form) or NULL when unset; the key must
 * be one the repository's driver declares.
 */
extern const char *configRepoGet(const ConfigRepo *repo, const char *key);
/* An INT or SIZE key (0 when unset), a BOOL key (false when unset). */
extern int64 configRepoGetInt(const ConfigRepo *repo, const char *key);
extern bool configRepoGetBool(const ConfigRepo *repo, const char *key);

/*
 * Set a driver key of a repository not read from a file (tests, a
 * repository described by its caller), checked like a line of a file;
 * repo->driver must be set.  DR_ERR_CONFIG when the key or value is bad.
 */
extern bool configRepoSet(ConfigRepo *repo, const char *key,
						  const char *value, DrError *err);

/* A copy of src whose strings are palloc'd in the current context. */
extern void configRepoCopy(ConfigRepo *dst, const ConfigRepo *src);
/* Free what configRepoCopy allocated and zero the repository. */
extern void configRepoClear(ConfigRepo *repo);
/*
 * Whether two repositories are the same one, opened the same way: every
 * setting but retention, which does not change how it is read or written.
 */
extern bool configRepoEqual(const ConfigRepo *a, const ConfigRepo *b);

/* One effective setting, for display. */
typedef struct ConfigItem
{
	char	   *name;
	char	   *value;			/* "********" for secrets */
	char	   *source;			/* "file:line" or "default" */
	bool		secret;
} ConfigItem;

/*
 * High availability (docs/ha.md): configured when any ha_* setting is set,
 * and then ha_cluster_name and ha_node_name are required and the timings
 * keep ha_check_interval + 2 * ha_retry_timeout <= ha_lease_ttl.
 */
typedef struct DrHaConfig
{
	bool		configured;		/* any ha_* set; the rest is zero if not */
	char	   *clusterName;	/* ha_cluster_name */
	char	   *nodeName;		/* ha_node_name: this node in the cluster */
	bool		failover;		/* ha_failover (default off) */
	int			checkIntervalMs;	/* ha_check_interval (1000) */
	int			retryTimeoutMs; /* ha_retry_timeout (2000) */
	int			leaseTtlMs;		/* ha_lease_ttl (5000) */
	int64		maxFailoverLag; /* ha_max_failover_lag, bytes (16 MB) */
	char	   *etcdEndpoints;	/* ha_etcd_endpoints; NULL: no etcd */
	/* the lag watcher (ha/ha_watch.h) */
	int			watchIntervalMs;	/* ha_watch_interval (1000) */
	int			watchHistoryIntervalS;	/* ha_watch_history_interval (60) */
	int			watchHistoryKeep;	/* ha_watch_history_keep, rows (100000) */
	int64		lagAlertBytes;	/* ha_lag_alert_bytes; -1 unset:
								 * ha_max_failover_lag; 0: none */
	int			lagAlertTimeMs; /* ha_lag_alert_time; -1 unset: the tier's
								 * RPO; 0: none */
	int			synchronous;	/* ha_synchronous: 1 on, 0 off, -1 unset
								 * (the tier decides: critical on) */
	bool		witness;		/* ha_witness: this node only votes */
	char	   *registryConninfo;	/* ha_registry_conninfo: where pg_dr rejoin
									 * reads the registry; NULL when unset */
	char	   *startCommand;	/* ha_start_command: how pg_dr switchover
								 * starts the old primary as a standby
								 * (%D: the data directory); NULL: pg_ctl */
} DrHaConfig;

typedef struct DrConfig
{
	char	   *path;			/* file it came from, or the source name */
	ConfigRepo	repo[CONFIG_REPO_MAX + 1];	/* 1-based; repo[0] unused */
	int			repoCount;		/* how many repoN are configured */
	int			compressLevel;	/* 0 when compress_type = none */
	DrHaConfig	ha;
	/* alerts (ops/alert.h): NULL when unset */
	char	   *alertWebhookUrl;	/* every severity */
	char	   *alertWebhookUrlWarning; /* warning events, in its place */
	char	   *alertWebhookUrlCritical;	/* critical events, in its place */
	int			alertWebhookTimeoutS;	/* 0 when unset */
	int			alertEscalateAfterS;	/* 0 when unset: never */
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
 * _credential(s).  A *_key_file names a file and is shown.  A driver key
 * declared secret is hidden too, whatever its name.
 */
extern bool configNameIsSecret(const char *name);

/* The first configured repository, or NULL (with DR_ERR_CONFIG) if none. */
extern const ConfigRepo *configRepoFirst(const DrConfig *config, DrError *err);

/* The first required repository, or NULL (with DR_ERR_CONFIG) if none. */
extern const ConfigRepo *configRepoFirstRequired(const DrConfig *config,
												 DrError *err);

#endif							/* DR_CONFIG_H */
