/*-------------------------------------------------------------------------
 * repo.h
 *	  A pg_dr repository: its layout, its info file, its keyring, and
 *	  encoded objects (codec over storage).
 *
 * Layout (relative to the repository root):
 *	 pg_dr.repo              info file, "name = value" text: format, cipher,
 *	                         kdf, kdf_iterations, kdf_salt, kek_id, created,
 *	                         id (the repository's identity, random).
 *	                         Written once by repoCreate; replaced atomically
 *	                         only by key rotation.
 *	 keys/<keyid>.<kekid>    a data key wrapped by the KEK of generation
 *	                         kekid (KEY_WRAPPED_SIZE bytes)
 *	 backup/<backup-id>/...  backups (backup engine)
 *	 archive/...             WAL (archiving)
 *	 audit/head-<id>-<tli>   the head of the server's audit chain
 *	                         (ops/audit_head.c)
 *	 check/probe.<pid>.<hex> probes of `pg_dr check`, removed at once
 *	                         (repo_probe.h)
 *
 * Key rotation is crash-safe without overwriting key files: every data key
 * is first wrapped under the new KEK into new files, then the info file is
 * replaced atomically to name the new KEK, then the old wraps are removed.
 * A crash before the switch leaves the old passphrase valid; after it, the
 * new one.
 *
 * The repository, not the catalog, is the source of truth: everything a
 * cluster needs to list and restore backups is in here.
 *-------------------------------------------------------------------------
 */
#ifndef DR_REPO_H
#define DR_REPO_H

#include "common/codec.h"
#include "common/config.h"
#include "common/error.h"
#include "common/keys.h"
#include "storage/storage.h"

#define REPO_INFO_FILE			"pg_dr.repo"
#define REPO_FORMAT				1
#define REPO_KEYS_DIR			"keys"
#define REPO_ID_SIZE			16	/* bytes of the random identity */

typedef struct Repo Repo;
typedef struct RepoObjectRead RepoObjectRead;
typedef struct RepoObjectWrite RepoObjectWrite;
typedef struct RepoBundle RepoBundle;

typedef struct RepoInfo
{
	int			format;
	ConfigCipher cipher;
	uint32		kdfIterations;
	uint8		kdfSalt[KEY_SALT_SIZE];
	uint8		kekId[KEY_KEK_ID_SIZE];
	char	   *created;		/* ISO 8601 UTC */
	bool		hasId;			/* false for a repository made before ids */
	uint8		id[REPO_ID_SIZE];	/* random, written once by repoCreate */
} RepoInfo;

/*
 * Initialize an empty repository for the configured repo: writes the info
 * file (DR_ERR_EXISTS if there is one).  kdfIterations 0 = default.
 */
extern bool repoCreate(const ConfigRepo *config, uint32 kdfIterations,
					   DrError *err);

/*
 * Open a repository: read the info file (DR_ERR_NOT_FOUND with a hint to run
 * "pg_dr repo-create" when there is none), load the passphrase, derive the
 * KEK and check it against the info file (DR_ERR_KEY: "repository key does
 * not match").
 */
extern Repo *repoOpen(const ConfigRepo *config, DrError *err);

/*
 * Open a repository to read its layout only (listings, what exists): the
 * info file is read and checked against the configuration, but the
 * passphrase is not loaded and no KEK derived, so it costs no PBKDF2 round
 * (for views read often, such as dr_pitr_window).  Anything that needs a
 * data key on it fails with DR_ERR_INTERNAL.
 */
extern Repo *repoOpenLayout(const ConfigRepo *config, DrError *err);

/*
 * Whether the repository opens and its configured passphrase matches it,
 * as repoOpen checks (the same errors), for status views read often
 * (dr_status, dr_metrics()).  A match is remembered in this process by
 * the key file's identity (device, inode, size, modification and change
 * times) and the repository's KDF salt, iterations and KEK id, never by
 * the key: while none of them changed, the next check reads the info
 * file and stats the key file, and derives no KEK (a PBKDF2 round of
 * kdf_iterations, ~30 ms at the default 100,000).  A mismatch or an
 * error is not remembered.
 */
extern bool repoKeyCheck(const ConfigRepo *config, DrError *err);

/* How many of this process's repoKeyChecks derived a KEK (for tests). */
extern uint64 repoKeyCheckDerived(void);


/*
 * Read only the info file of the configured repository (no passphrase,
 * no key derivation): enough to know which repository it is.  The errors
 * of repoOpen's first step; info->created is palloc'd.
 */
extern bool repoInfoRead(const ConfigRepo *config, RepoInfo *info,
						 DrError *err);
extern void repoClose(Repo *repo);

extern Storage *repoStorage(Repo *repo);

/*
 * Reading a backup's objects from here on (restore, verify): on an object
 * store, turn on the storage's range cache (storage.h) so that the
 * entries of a bundle come with a request or two, not one each; off again,
 * its memory freed, with repoReadAheadEnd.  Up to REPO_READ_AHEAD_WINDOW
 * * REPO_READ_AHEAD_SLOTS bytes (24 MiB).  A repository with real
 * directories (posix) reads ranges cheaply and is left alone.
 */
#define REPO_READ_AHEAD_WINDOW	((size_t) 8 * 1024 * 1024)
#define REPO_READ_AHEAD_SLOTS	3
extern void repoReadAheadBegin(Repo *repo);
extern void repoReadAheadEnd(Repo *repo);
extern const RepoInfo *repoInfoGet(const Repo *repo);
extern const ConfigRepo *repoConfig(const Repo *repo);

/*
 * A new random data key, stored wrapped before it is returned.  When the
 * repository is not encrypted, returns true and sets *key to NULL.
 * DR_ERR_KEY when a key rotation switched the passphrase since repo was
 * opened (the key is given up: repo_keys.c says why no key is lost).
 */
extern bool repoDataKeyNew(Repo *repo, const CodecDataKey **key, DrError *err);

/* Look a data key up (cached after the first unwrap); a CodecKeyLookup. */
extern const CodecDataKey *repoDataKeyGet(void *repo, const uint8 *keyId,
										  DrError *err);

/* Number of data keys in the keyring (for info). */
extern bool repoDataKeyCount(Repo *repo, int *count, DrError *err);

/*
 * Re-wrap every data key under the passphrase in newKeyFile (see the
 * header comment); data objects are not touched.  On success the repo
 * handle uses the new KEK.  DR_ERR_EXISTS, before anything changed, when
 * another rotation holds the repository's rotation lock (repo_keys.c).
 */
extern bool repoKeyRotate(Repo *repo, const char *newKeyFile, DrError *err);

/*
 * Encode plain bytes from source into a new object at path (atomic, never
 * overwrites), encrypted with key (NULL = not encrypted) and compressed at
 * the configured level.  result may be NULL.
 */
extern bool repoObjectPut(Repo *repo, const char *path, CodecSource source,
						  const CodecDataKey *key, CodecResult *result,
						  DrError *err);
extern bool repoObjectPutBuffer(Repo *repo, const char *path, const void *buf,
								size_t len, const CodecDataKey *key,
								CodecResult *result, DrError *err);
/* The same, the object bound (codec.h) to its own name, path. */
extern bool repoObjectPutBufferBound(Repo *repo, const char *path,
									 const void *buf, size_t len,
									 const CodecDataKey *key,
									 CodecResult *result, DrError *err);

/*
 * The same, pushed: Begin, any number of Write, then End (durable and
 * visible) or Abort (nothing visible; also what to do after a failed
 * Write).  End frees the handle whatever it returns.
 */
extern RepoObjectWrite *repoObjectWriteBegin(Repo *repo, const char *path,
											 const CodecDataKey *key,
											 DrError *err);

/* How an object is written (repoObjectWriteBeginParam). */
typedef struct RepoWriteParam
{
	bool		deferSync;		/* durable only at the end of a storage
								 * batch (storage.h) */
	bool		owned;			/* no other writer (StorageWriteParam) */
	const char *binding;		/* bind the object to this name (codec.h);
								 * NULL = not bound */
	int			compressLevel;	/* zstd level instead of the repository's
								 * compress_level; 0 = the repository's.
								 * Ignored when the repository does not
								 * compress (compress_type = none) */
	RepoBundle *bundle;			/* write it as an entry of this bundle
								 * (below) when it stays small; NULL = a
								 * standalone object at path */
	bool		replace;		/* replace an existing object at path,
								 * atomically (metadata objects only) */
} RepoWriteParam;

/* Where an object written with a bundle went (repoObjectWriteEndPlace). */
typedef struct RepoObjectPlace
{
	bool		bundled;		/* false: the standalone object at path */
	uint32		bundle;			/* the bundle's number */
	uint64		offset;			/* of the entry's first byte in it */
} RepoObjectPlace;

extern RepoObjectWrite *repoObjectWriteBeginParam(Repo *repo, const char *path,
												  const CodecDataKey *key,
												  const RepoWriteParam *param,
												  DrError *err);
extern bool repoObjectWrite(RepoObjectWrite *write, const void *buf,
							size_t len, DrError *err);
extern bool repoObjectWriteEnd(RepoObjectWrite *write, CodecResult *result,
							   DrError *err);
/* End, saying where the object went (a write begun with a bundle). */
extern bool repoObjectWriteEndPlace(RepoObjectWrite *write,
									CodecResult *result,
									RepoObjectPlace *place, DrError *err);
extern void repoObjectWriteAbort(RepoObjectWrite *write);

/*
 * Read an object back: every byte is authenticated and, at the end, the
 * content hash checked; see codec.h for when data counts as verified.
 */
extern RepoObjectRead *repoObjectReadBegin(Repo *repo, const char *path,
										   DrError *err);
/*
 * The same for an object that is the length bytes at offset of the object
 * at path (an entry of a bundle): decoded and checked exactly like a
 * standalone object, and errors name the entry's offset.
 */
extern RepoObjectRead *repoObjectReadBeginRange(Repo *repo, const char *path,
												uint64 offset, uint64 length,
												DrError *err);
extern ssize_t repoObjectRead(RepoObjectRead *read, void *buf, size_t len,
							  DrError *err);
/* Frees the handle; fails unless the object was read to its verified end. */
extern bool repoObjectReadEnd(RepoObjectRead *read, CodecResult *result,
							  DrError *err);
extern void repoObjectReadFree(RepoObjectRead *read);
/*
 * Is the object bound to name (codecDecoderBindingCheck)?  *bound false
 * for an object written without a binding; DR_ERR_CORRUPT, naming the
 * object, when it is bound to another name.
 */
/*
 * The same, for an object that must be bound: false with DR_ERR_CORRUPT
 * when it is unbound or bound to another name.
 */
extern bool repoObjectReadBindingRequire(RepoObjectRead *read,
										 const char *name, DrError *err);
extern bool repoObjectReadBindingCheck(RepoObjectRead *read, const char *name,
									   bool *bound, DrError *err);
/* Before the first Read: no content hash (codecDecoderNoHash). */
extern void repoObjectReadNoHash(RepoObjectRead *read);
/* Before the first Read: SHA-256 only if needed (codecDecoderFastVerify). */
extern void repoObjectReadFastVerify(RepoObjectRead *read);

/*
 * Bundles: small objects packed into larger ones, one process filling one
 * bundle object at a time (repo_bundle.c).  An object written with
 * RepoWriteParam.bundle is encoded into memory and, at End, appended to
 * the bundle's current object, which is begun (at the path prefix +
 * the decimal number next() returns) when needed and ended (visible,
 * durable as deferSync says) once it holds sizeMax bytes or more.  Its
 * entries are laid end to end, with nothing else; each is a complete
 * encoded object that repoObjectReadBeginRange reads alone.  An object
 * whose encoded size passes entryMax is written standalone instead (see
 * repo_object.c), and an abandoned one leaves nothing in the bundle.
 * End ends the current object (nothing when there is none); Abort
 * abandons it, leaving nothing visible of it; both free the bundle.  The
 * bundle objects mean nothing until something naming their entries (a
 * manifest) is written after End.
 */
/*
 * Chunk size (codec.h) of an object written with a bundle: the codec's
 * buffers are a chunk each, for the writer and for every reader, and a
 * bundle's objects are small (one that turns standalone keeps it).
 */
#define REPO_BUNDLE_CHUNK_SIZE	(64 * 1024)

typedef struct RepoBundleParam
{
	const char *prefix;			/* object path = prefix + number */
	uint64		sizeMax;		/* end an object once it is this large */
	size_t		entryMax;		/* larger objects are written standalone */
	bool		deferSync;		/* as RepoWriteParam.deferSync */
	bool		owned;			/* as RepoWriteParam.owned */
	uint32		(*next) (void *arg);	/* a number no other writer uses */
	void	   *nextArg;
} RepoBundleParam;

extern RepoBundle *repoBundleNew(Repo *repo, const RepoBundleParam *param);
extern bool repoBundleEnd(RepoBundle *bundle, DrError *err);
extern void repoBundleAbort(RepoBundle *bundle);
/* Bundle objects ended so far. */
extern uint32 repoBundleObjects(const RepoBundle *bundle);
/* For repo_object.c: the entry limit, and appending one encoded entry. */
extern size_t repoBundleEntryMax(const RepoBundle *bundle);
extern bool repoBundleAppend(RepoBundle *bundle, const void *buf, size_t len,
							 RepoObjectPlace *place, DrError *err);

/*
 * A whole small object, palloc'd and followed by a '\0' not counted in
 * *len (DR_ERR_INVALID above maxLen).
 */
extern char *repoObjectGetBuffer(Repo *repo, const char *path, size_t *len,
								 size_t maxLen, DrError *err);
/* The same, refusing an object that is not bound to its name (path). */
extern char *repoObjectGetBufferBound(Repo *repo, const char *path,
									  size_t *len, size_t maxLen,
									  DrError *err);

#endif							/* DR_REPO_H */
