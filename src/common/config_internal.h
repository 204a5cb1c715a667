/*-------------------------------------------------------------------------
 * config_internal.h
 *	  Shared by the two files of the configuration (config.c, the parser;
 *	  config_value.c, values, the drivers' registry and a repository's
 *	  driver settings).  Users go through config.h.
 *-------------------------------------------------------------------------
 */
#ifndef DR_CONFIG_INTERNAL_H
#define DR_CONFIG_INTERNAL_H

#include "common/config.h"

/* Longest driver key name, "repoN_" excepted (for "did you mean" buffers). */
#define CONFIG_KEY_NAME_MAX		48

/* What is wrong with a value (configValueCheck), before its line is known. */
typedef struct ConfigProblem
{
	char		message[512];
	char		hint[200];
} ConfigProblem;

/* Set problem's message; always returns false. */
extern bool configProblem(ConfigProblem *problem, const char *fmt,...) pg_attribute_printf(2, 3);
/* 'invalid value "v" for "name": expected ...', without v when hidden. */
extern bool configProblemInvalid(ConfigProblem *problem, const char *name,
								 const char *value, bool hidden,
								 const char *expected);

/*
 * Check a value against its key's description (its kind, bounds, allowed
 * values) and put its canonical form in *value (palloc'd; the old one is
 * freed when replaced).  name is the full name for messages; hidden keeps
 * the value out of them.
 */
extern bool configValueCheck(const ConfigKeyDef *def, const char *name,
							 bool hidden, char **value, ConfigProblem *problem);

/* Whether a key is secret: declared so (def may be NULL) or by its name. */
extern bool configKeySecret(const ConfigKeyDef *def, const char *name);

/* config.c: whether key is a setting every repository has ("type", ...). */
extern bool configKeyIsCommon(const char *key);
/* Full name of a key: "compress_type" or "repo2_path" (perRepo, repo 2). */
extern void configKeyName(const char *key, bool perRepo, int repo, char *buf,
						  size_t size);
/*
 * The full name of the n-th setting config.c knows (global or common to
 * every repository, named for repository repo); false past the last.
 */
extern bool configGlobalKeyName(int n, int repo, char *buf, size_t size);

/* config_hint.c: what an error about a setting's name suggests. */
extern bool configSuggest(const char *name, const ConfigDriver *driver,
						  char *buf, size_t size);
extern void configDriverKeyList(const ConfigDriver *driver, int repo,
								char *buf, size_t size);
extern void configValidNamesHint(DrError *err);

/* The n-th registered driver (from 0), NULL past the last. */
extern const ConfigDriver *configDriverNth(int n);
/* The description of key in driver, or NULL. */
extern const ConfigKeyDef *configDriverKey(const ConfigDriver *driver,
										   const char *key);
/* The first registered driver other than except that declares key. */
extern const ConfigDriver *configDriverDeclaring(const char *key,
												 const ConfigDriver *except);
/*
 * "a, b or c" from a NULL-terminated list, or from the registered drivers'
 * types when list is NULL.
 */
extern void configJoin(const char *const *list, char *buf, size_t size);

/* Give repo the settings list of its driver, with the defaults in place. */
extern void configRepoSettingsInit(ConfigRepo *repo);
/* The setting of key in repo (a key its driver declares). */
extern const ConfigSetting *configRepoSetting(const ConfigRepo *repo,
											  const char *key);

#endif							/* DR_CONFIG_INTERNAL_H */
