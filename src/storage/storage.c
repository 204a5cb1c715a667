/*-------------------------------------------------------------------------
 * storage.c
 *	  The generic storage layer (see storage.h): checks every path before a
 *	  driver sees it, wraps driver handles, and builds whole-object and
 *	  codec helpers on top of the driver callbacks.
 *
 * Drivers trust what they get from here: a path is relative,
 * '/'-separated, has no empty, "." or ".." component and is not longer
 * than STORAGE_PATH_MAX, so a driver cannot be led outside its root.
 *
 * A write handle remembers whether one of its writes failed; ending such a
 * write aborts it instead, so a caller that forgets to check a
 * storageWrite() result can never publish a truncated object.
 *
 * The range cache (storageRangeCacheSet): a restore or a verify reads a
 * backup's small files as entries of its bundle objects, one range each.
 * On an object store each range is a GET, and at a 50 ms round trip a
 * thousand small files cost 50 s of waiting.  With the cache on, a range
 * read fetches the whole window-aligned block of the object around it (a
 * bundle, 4 MiB and a little more at the default limits, fits in one
 * window; the driver reads it in a request or two) and keeps the last few
 * blocks, so the other entries of the bundle come from memory.  A block
 * wanted again soon after it was let go of is not fetched again: with
 * more blocks in turn than slots each entry would cost a whole block, so
 * such ranges go to the driver alone, as without the cache.  Only immutable
 * objects are read through ranges (a backup's objects never change once
 * written), and every entry is still decoded and authenticated by the
 * codec, so a block kept in memory can never serve other bytes than the
 * store holds.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#ifndef FRONTEND
#include "utils/memutils.h"
#endif

#include "storage/storage.h"
#include "storage/storage_driver.h"

/* Longest path accepted, relative to the repository root. */
#define STORAGE_PATH_MAX		1024

/* storageGet reads in steps of this size, up to maxLen. */
#define STORAGE_GET_STEP		(64 * 1024)

/*
 * Largest storageGet: palloc's limit (MaxAllocSize, which the backend only
 * declares in utils/memutils.h) less the extra byte and the terminator.
 */
#define STORAGE_GET_MAX			((size_t) 0x3fffffff - 2)

/*
 * One block of an object kept by the range cache, allocated on its own: a
 * block still pinned by a read when the cache is dropped is left to that
 * read, and freed when the last such read ends (orphan).
 */
typedef struct StorageRangeBlock
{
	char	   *path;			/* NULL: not filled */
	uint64		start;			/* the block's offset in the object */
	char	   *data;			/* window bytes */
	size_t		len;			/* < window: the object ends there */
	uint64		used;			/* when last used (a counter) */
	int			pins;			/* reads serving from it now: kept */
	bool		orphan;			/* the cache let go of it: freed at unpin */
} StorageRangeBlock;

/*
 * Blocks the range cache let go of, remembered so that a block wanted
 * again soon after is not fetched again whole: with more blocks in turn
 * than slots (entries of many bundles interleaved), fetching would cost a
 * whole block per entry.  Such a range goes to the driver alone.
 */
#define STORAGE_RANGE_EVICTED	16

typedef struct StorageRangeEvicted
{
	char	   *path;			/* NULL: unused */
	uint64		start;
} StorageRangeEvicted;

struct Storage
{
	const StorageDriverInterface *iface;
	void	   *driver;
	const DrHost *host;			/* storageHostSet's, NULL: none */

	/* the range cache: off while window is 0 */
	size_t		rangeWindow;
	int			rangeSlots;
	StorageRangeBlock **rangeBlocks;	/* rangeSlots of them; NULL: empty */
	uint64		rangeClock;
	StorageRangeEvicted rangeEvicted[STORAGE_RANGE_EVICTED];
	int			rangeEvictedNext;
	uint64		rangeFetches;	/* blocks fetched (storageRangeCacheStats) */
	uint64		rangeHits;		/* ranges served from a kept block */
	uint64		rangeBypass;	/* ranges sent to the driver alone, their
								 * block evicted a moment ago */
};

struct StorageWrite
{
	Storage    *storage;
	void	   *handle;			/* the driver's */
	bool		failed;			/* a storageWrite() failed: never commit */
	char	   *path;
};

struct StorageRead
{
	Storage    *storage;
	void	   *handle;			/* the driver's; NULL: from memory */
	char	   *path;
	uint64		remaining;		/* bytes the range still has; UINT64_MAX for
								 * a whole object */
	StorageRangeBlock *block;	/* a range served by the range cache: the
								 * block (pinned until the read ends) */
	const char *memory;			/* ... and its bytes still to read */
};

/* Bytes skipped at a time by a range read emulated over a plain one. */
#define STORAGE_SKIP_BUFFER		(64 * 1024)

/*
 * Check a path given to the storage API.  allowRoot accepts "" (the root
 * itself), which only makes sense for listing.
 */
static bool
storagePathCheck(const char *path, bool allowRoot, DrError *err)
{
	const char *component;
	const char *reason = NULL;

	if (path == NULL)
		return drErrorSet(err, DR_ERR_INVALID, "storage path is missing");
	if (path[0] == '\0')
	{
		if (allowRoot)
			return true;
		reason = "it is empty";
	}
	else if (strlen(path) > STORAGE_PATH_MAX)
		reason = "it is too long";
	else if (path[0] == '/')
		reason = "it must be relative to the repository";
	else
	{
		component = path;
		for (;;)
		{
			const char *slash = strchr(component, '/');
			size_t		len = slash ? (size_t) (slash - component) : strlen(component);

			if (len == 0)
			{
				reason = "it has an empty component";
				break;
			}
			if ((len == 1 && component[0] == '.') ||
				(len == 2 && component[0] == '.' && component[1] == '.'))
			{
				reason = "it has a \".\" or \"..\" component";
				break;
			}
			if (slash == NULL)
				break;
			component = slash + 1;
		}
	}

	if (reason != NULL)
		return drErrorSet(err, DR_ERR_INVALID, "invalid storage path \"%s\": %s",
						  path, reason);
	return true;
}

Storage *
storageNew(const StorageDriverInterface *iface, void *driver)
{
	Storage    *storage = palloc0(sizeof(Storage));

	Assert(iface->writeBegin && iface->write && iface->writeEnd &&
		   iface->writeAbort && iface->readBegin && iface->read &&
		   iface->readEnd && iface->exists && iface->list && iface->remove);
	Assert((iface->batchBegin == NULL) == (iface->batchEnd == NULL) &&
		   (iface->batchEnd == NULL) == (iface->batchAbort == NULL));
	storage->iface = iface;
	storage->driver = driver;
	return storage;
}

static void
storageRangeBlockFree(StorageRangeBlock *block)
{
	if (block->path)
		pfree(block->path);
	pfree(block->data);
	pfree(block);
}

/* Let go of a block: freed now, or by the last read it serves. */
static void
storageRangeBlockRelease(StorageRangeBlock *block)
{
	if (block->pins > 0)
		block->orphan = true;
	else
		storageRangeBlockFree(block);
}

/* Let go of every kept block and forget the evicted ones. */
static void
storageRangeCacheDrop(Storage *storage)
{
	for (int i = 0; i < storage->rangeSlots; i++)
		if (storage->rangeBlocks[i])
			storageRangeBlockRelease(storage->rangeBlocks[i]);
	if (storage->rangeBlocks)
		pfree(storage->rangeBlocks);
	storage->rangeBlocks = NULL;
	storage->rangeSlots = 0;
	storage->rangeWindow = 0;
	for (int i = 0; i < STORAGE_RANGE_EVICTED; i++)
	{
		if (storage->rangeEvicted[i].path)
			pfree(storage->rangeEvicted[i].path);
		storage->rangeEvicted[i].path = NULL;
	}
	storage->rangeEvictedNext = 0;
}

void
storageFree(Storage *storage)
{
	if (storage == NULL)
		return;
	storageRangeCacheDrop(storage);
	if (storage->iface->free)
		storage->iface->free(storage->driver);
	pfree(storage);
}

/*
 * Memory the storage keeps for itself (the range cache's blocks): in the
 * context the storage was made in, so that a reset of a shorter-lived
 * context never frees a kept block.
 */
static void *
storageKeepAlloc(Storage *storage, size_t size)
{
#ifndef FRONTEND
	return MemoryContextAlloc(GetMemoryChunkContext(storage), size);
#else
	return palloc(size);
#endif
}

void
storageRangeCacheSet(Storage *storage, size_t window, int slots)
{
	storageRangeCacheDrop(storage);
	storage->rangeFetches = storage->rangeHits = storage->rangeBypass = 0;
	if (window == 0 || slots <= 0)
		return;
	storage->rangeBlocks = storageKeepAlloc(storage,
											sizeof(StorageRangeBlock *) * slots);
	memset(storage->rangeBlocks, 0, sizeof(StorageRangeBlock *) * slots);
	storage->rangeSlots = slots;
	storage->rangeWindow = window;
}

void
storageRangeCacheStats(const Storage *storage, uint64 *fetches, uint64 *hits,
					   uint64 *bypassed)
{
	*fetches = storage->rangeFetches;
	*hits = storage->rangeHits;
	*bypassed = storage->rangeBypass;
}

/* The kept block of path that starts at start; NULL: none. */
static StorageRangeBlock *
storageRangeBlockFind(Storage *storage, const char *path, uint64 start)
{
	for (int i = 0; i < storage->rangeSlots; i++)
	{
		StorageRangeBlock *block = storage->rangeBlocks[i];

		if (block && block->path && block->start == start &&
			strcmp(block->path, path) == 0)
			return block;
	}
	return NULL;
}

/* Whether the block of path at start was let go of a moment ago. */
static bool
storageRangeWasEvicted(Storage *storage, const char *path, uint64 start)
{
	for (int i = 0; i < STORAGE_RANGE_EVICTED; i++)
	{
		StorageRangeEvicted *e = &storage->rangeEvicted[i];

		if (e->path && e->start == start && strcmp(e->path, path) == 0)
			return true;
	}
	return false;
}

static void
storageRangeNoteEvicted(Storage *storage, const StorageRangeBlock *block)
{
	StorageRangeEvicted *e = &storage->rangeEvicted[storage->rangeEvictedNext];

	if (e->path)
		pfree(e->path);
	e->path = storageKeepAlloc(storage, strlen(block->path) + 1);
	strcpy(e->path, block->path);
	e->start = block->start;
	storage->rangeEvictedNext = (storage->rangeEvictedNext + 1) % STORAGE_RANGE_EVICTED;
}

/*
 * Fetch the block of path at start (ranged reads of the driver) into an
 * empty slot, or the least recently used one no read is serving from;
 * NULL with err clear when every slot is in use, with err set when the
 * read failed (the slot is then empty).
 */
static StorageRangeBlock *
storageRangeBlockFetch(Storage *storage, const char *path, uint64 start,
					   DrError *err)
{
	StorageRangeBlock *block;
	int			slot = -1;
	void	   *handle;
	size_t		len = 0;

	for (int i = 0; i < storage->rangeSlots; i++)
	{
		StorageRangeBlock *b = storage->rangeBlocks[i];

		if (b == NULL)
		{
			slot = i;
			break;
		}
		if (b->pins == 0 &&
			(slot < 0 || b->used < storage->rangeBlocks[slot]->used))
			slot = i;
	}
	if (slot < 0)
		return NULL;
	if (storage->rangeBlocks[slot] != NULL)
	{
		if (storage->rangeBlocks[slot]->path)
			storageRangeNoteEvicted(storage, storage->rangeBlocks[slot]);
		storageRangeBlockFree(storage->rangeBlocks[slot]);
		storage->rangeBlocks[slot] = NULL;
	}

	block = storageKeepAlloc(storage, sizeof(StorageRangeBlock));
	memset(block, 0, sizeof(StorageRangeBlock));
	block->data = storageKeepAlloc(storage, storage->rangeWindow);
	handle = storage->iface->readBeginRange(storage->driver, path, start,
											storage->rangeWindow, err);
	while (handle != NULL && len < storage->rangeWindow)
	{
		ssize_t		n = storage->iface->read(handle, block->data + len,
											 storage->rangeWindow - len, err);

		if (n < 0)
		{
			storage->iface->readEnd(handle);
			handle = NULL;
			break;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (handle == NULL)
	{
		storageRangeBlockFree(block);
		return NULL;
	}
	storage->iface->readEnd(handle);

	block->path = storageKeepAlloc(storage, strlen(path) + 1);
	strcpy(block->path, path);
	block->start = start;
	block->len = len;
	storage->rangeBlocks[slot] = block;
	storage->rangeFetches++;
	return block;
}

/*
 * A range read served by the range cache: NULL with err clear when the
 * cache cannot serve it (off, the driver has no ranged read, the range
 * crosses a window boundary, its block was let go of a moment ago, every
 * slot is in use), NULL with err set when fetching failed.
 */
static StorageRead *
storageRangeCached(Storage *storage, const char *path, uint64 offset,
				   uint64 length, DrError *err)
{
	StorageRangeBlock *block;
	uint64		start;
	StorageRead *read;
	uint64		avail;

	if (storage->rangeWindow == 0 || storage->iface->readBeginRange == NULL)
		return NULL;
	start = offset - offset % storage->rangeWindow;
	if (length > storage->rangeWindow ||
		offset + length > start + storage->rangeWindow)
		return NULL;

	block = storageRangeBlockFind(storage, path, start);
	if (block != NULL)
		storage->rangeHits++;
	else if (storageRangeWasEvicted(storage, path, start))
	{
		storage->rangeBypass++;
		return NULL;
	}
	else
	{
		block = storageRangeBlockFetch(storage, path, start, err);
		if (block == NULL)
			return NULL;
	}
	block->used = ++storage->rangeClock;
	block->pins++;

	/* as a driver's range: what the object holds of it, maybe nothing */
	avail = offset - start < block->len ? block->len - (offset - start) : 0;
	read = palloc0(sizeof(StorageRead));
	read->storage = storage;
	read->path = pstrdup(path);
	read->block = block;
	read->memory = block->data + (offset - start);
	read->remaining = Min(length, avail);
	return read;
}

const DrHost *
storageHostSet(Storage *storage, const DrHost *host)
{
	const DrHost *prev = storage->host;

	storage->host = host;
	if (storage->iface->hostSet)
		storage->iface->hostSet(storage->driver, host);
	return prev;
}

const char *
storageName(const Storage *storage)
{
	return storage->iface->name;
}

uint32
storageFeatures(const Storage *storage)
{
	return storage->iface->features;
}

struct StorageBatch
{
	Storage    *storage;
	void	   *handle;			/* the driver's; NULL without batches */
};

StorageBatch *
storageBatchBegin(Storage *storage, DrError *err)
{
	StorageBatch *batch = palloc0(sizeof(StorageBatch));

	batch->storage = storage;
	if (storage->iface->batchBegin)
	{
		batch->handle = storage->iface->batchBegin(storage->driver, err);
		if (batch->handle == NULL)
		{
			pfree(batch);
			return NULL;
		}
	}
	return batch;
}

bool
storageBatchEnd(StorageBatch *batch, DrError *err)
{
	bool		ok = true;

	if (batch->handle)
		ok = batch->storage->iface->batchEnd(batch->handle, err);
	pfree(batch);
	return ok;
}

void
storageBatchAbort(StorageBatch *batch)
{
	if (batch == NULL)
		return;
	if (batch->handle)
		batch->storage->iface->batchAbort(batch->handle);
	pfree(batch);
}

StorageWrite *
storageWriteBegin(Storage *storage, const char *path,
				  const StorageWriteParam *param, DrError *err)
{
	StorageWriteParam defaults = {0};
	StorageWrite *write;
	void	   *handle;

	if (!storagePathCheck(path, false, err))
		return NULL;
	handle = storage->iface->writeBegin(storage->driver, path,
										param ? param : &defaults, err);
	if (handle == NULL)
		return NULL;

	write = palloc0(sizeof(StorageWrite));
	write->storage = storage;
	write->handle = handle;
	write->path = pstrdup(path);
	return write;
}

bool
storageWrite(StorageWrite *write, const void *buf, size_t len, DrError *err)
{
	if (write->failed)
		return drErrorSet(err, DR_ERR_INVALID,
						  "write to \"%s\" already failed", write->path);
	if (len == 0)
		return true;
	if (!write->storage->iface->write(write->handle, buf, len, err))
	{
		write->failed = true;
		return false;
	}
	return true;
}

static void
storageWriteFree(StorageWrite *write)
{
	pfree(write->path);
	pfree(write);
}

bool
storageWriteEnd(StorageWrite *write, DrError *err)
{
	bool		result;

	if (write->failed)
	{
		/* never publish what may be a truncated object */
		drErrorSet(err, DR_ERR_INVALID,
				   "write to \"%s\" failed earlier and was discarded",
				   write->path);
		storageWriteAbort(write);
		return false;
	}
	result = write->storage->iface->writeEnd(write->handle, err);
	storageWriteFree(write);
	return result;
}

void
storageWriteAbort(StorageWrite *write)
{
	if (write == NULL)
		return;
	write->storage->iface->writeAbort(write->handle);
	storageWriteFree(write);
}

StorageRead *
storageReadBegin(Storage *storage, const char *path, DrError *err)
{
	StorageRead *read;
	void	   *handle;

	if (!storagePathCheck(path, false, err))
		return NULL;
	handle = storage->iface->readBegin(storage->driver, path, err);
	if (handle == NULL)
		return NULL;

	read = palloc0(sizeof(StorageRead));
	read->storage = storage;
	read->handle = handle;
	read->path = pstrdup(path);
	read->remaining = PG_UINT64_MAX;
	return read;
}

StorageRead *
storageReadBeginRange(Storage *storage, const char *path, uint64 offset,
					  uint64 length, DrError *err)
{
	StorageRead *read;

	if (storage->iface->readBeginRange != NULL)
	{
		void	   *handle;

		if (!storagePathCheck(path, false, err))
			return NULL;
		drErrorClear(err);
		read = storageRangeCached(storage, path, offset, length, err);
		if (read != NULL)
			return read;
		if (err->code != DR_OK)
			return NULL;
		handle = storage->iface->readBeginRange(storage->driver, path, offset,
												length, err);
		if (handle == NULL)
			return NULL;
		read = palloc0(sizeof(StorageRead));
		read->storage = storage;
		read->handle = handle;
		read->path = pstrdup(path);
		read->remaining = length;
		return read;
	}

	/* emulated: a plain read whose first offset bytes are skipped */
	read = storageReadBegin(storage, path, err);
	if (read == NULL)
		return NULL;
	if (offset > 0)
	{
		char	   *skip = palloc(STORAGE_SKIP_BUFFER);

		while (offset > 0)
		{
			ssize_t		n = storageRead(read, skip,
										Min(offset, STORAGE_SKIP_BUFFER), err);

			if (n < 0)
			{
				pfree(skip);
				storageReadEnd(read);
				return NULL;
			}
			if (n == 0)
			{
				/* the object ends before the range: nothing to read */
				length = 0;
				break;
			}
			offset -= n;
		}
		pfree(skip);
	}
	read->remaining = length;
	return read;
}

ssize_t
storageRead(StorageRead *read, void *buf, size_t len, DrError *err)
{
	ssize_t		n;

	if (len > read->remaining)
		len = (size_t) read->remaining;
	if (len == 0)
		return 0;
	if (read->block != NULL)
	{
		/* a kept block, pinned: no fetch replaces it while this read lasts */
		memcpy(buf, read->memory, len);
		read->memory += len;
		read->remaining -= len;
		return (ssize_t) len;
	}
	n = read->storage->iface->read(read->handle, buf, len, err);
	if (n > 0 && read->remaining != PG_UINT64_MAX)
		read->remaining -= n;
	return n;
}

void
storageReadEnd(StorageRead *read)
{
	if (read == NULL)
		return;
	if (read->block != NULL)
	{
		if (--read->block->pins == 0 && read->block->orphan)
			storageRangeBlockFree(read->block);
	}
	else
		read->storage->iface->readEnd(read->handle);
	pfree(read->path);
	pfree(read);
}

bool
storageExists(Storage *storage, const char *path, bool *exists, DrError *err)
{
	if (!storagePathCheck(path, false, err))
		return false;
	return storage->iface->exists(storage->driver, path, exists, err);
}

bool
storageList(Storage *storage, const char *dir, StorageListCallback callback,
			void *arg, DrError *err)
{
	if (dir == NULL)
		dir = "";
	if (!storagePathCheck(dir, true, err))
		return false;
	return storage->iface->list(storage->driver, dir, callback, arg, err);
}

/*
 * A page being gathered (StorageListPage): a max-heap on the name, so the
 * greatest kept name is the first to go when a smaller one arrives.
 */
struct StorageListPage
{
	char	   *startAfter;
	int			limit;
	int			count;
	StorageInfo *heap;			/* names palloc'd */
	bool		more;			/* a name after startAfter was left out */
};

StorageListPage *
storageListPageNew(const char *startAfter, int limit)
{
	StorageListPage *page = palloc0(sizeof(StorageListPage));

	Assert(limit > 0);
	page->startAfter = pstrdup(startAfter ? startAfter : "");
	page->limit = limit;
	page->heap = palloc(sizeof(StorageInfo) * limit);
	return page;
}

bool
storageListPageWants(const StorageListPage *page, const char *name)
{
	if (strcmp(name, page->startAfter) <= 0)
		return false;
	return page->count < page->limit || strcmp(name, page->heap[0].name) < 0;
}

static void
storageListPageSwap(StorageInfo *a, StorageInfo *b)
{
	StorageInfo tmp = *a;

	*a = *b;
	*b = tmp;
}

/* Restore the heap below position i after its entry got smaller. */
static void
storageListPageSiftDown(StorageInfo *heap, int count, int i)
{
	for (;;)
	{
		int			largest = i;
		int			left = 2 * i + 1;
		int			right = left + 1;

		if (left < count && strcmp(heap[left].name, heap[largest].name) > 0)
			largest = left;
		if (right < count && strcmp(heap[right].name, heap[largest].name) > 0)
			largest = right;
		if (largest == i)
			return;
		storageListPageSwap(&heap[i], &heap[largest]);
		i = largest;
	}
}

void
storageListPageAdd(StorageListPage *page, const StorageInfo *info)
{
	StorageInfo *heap = page->heap;
	int			i;

	if (strcmp(info->name, page->startAfter) <= 0)
		return;
	if (!storageListPageWants(page, info->name))
	{
		page->more = true;
		return;
	}
	if (page->count == page->limit)
	{
		/* the greatest name goes: the page ends before it */
		pfree((char *) heap[0].name);
		heap[0] = *info;
		heap[0].name = pstrdup(info->name);
		storageListPageSiftDown(heap, page->count, 0);
		page->more = true;
		return;
	}
	i = page->count++;
	heap[i] = *info;
	heap[i].name = pstrdup(info->name);
	while (i > 0 && strcmp(heap[(i - 1) / 2].name, heap[i].name) < 0)
	{
		storageListPageSwap(&heap[(i - 1) / 2], &heap[i]);
		i = (i - 1) / 2;
	}
}

bool
storageListPageEmit(StorageListPage *page, StorageListCallback callback,
					void *arg, bool *more, DrError *err)
{
	bool		ok = true;
	int			count = page->count;

	/* heap sort: the greatest moves to the end, leaving ascending order */
	for (int n = count - 1; n > 0; n--)
	{
		storageListPageSwap(&page->heap[0], &page->heap[n]);
		storageListPageSiftDown(page->heap, n, 0);
	}
	for (int i = 0; ok && callback && i < count; i++)
		ok = callback(arg, &page->heap[i], err);
	*more = page->more;

	for (int i = 0; i < count; i++)
		pfree((char *) page->heap[i].name);
	pfree(page->heap);
	pfree(page->startAfter);
	pfree(page);
	return ok;
}

/* The plain listing's callback when pages are cut from it. */
static bool
storageListPageOffer(void *arg, const StorageInfo *info, DrError *err)
{
	storageListPageAdd((StorageListPage *) arg, info);
	return true;
}

struct StorageList
{
	Storage    *storage;
	char	   *dir;
	int			pageSize;
	StorageInfo *entries;		/* the current page, names palloc'd */
	int			count;
	int			next;			/* the entry storageListNext returns next */
	bool		more;			/* pages after the current one */
	char	   *last;			/* the last name returned ("" before any) */
};

/* Copy one entry of a page, checking the order the driver promised. */
static bool
storageListCollect(void *arg, const StorageInfo *info, DrError *err)
{
	StorageList *list = arg;
	const char *previous = list->count > 0 ?
		list->entries[list->count - 1].name : list->last;

	if (list->count == list->pageSize)
		return drErrorSet(err, DR_ERR_IO,
						  "storage driver \"%s\" listed more than a page (%d entries) of directory \"%s\"",
						  list->storage->iface->name, list->pageSize, list->dir);
	if (strcmp(info->name, previous) <= 0)
		return drErrorSet(err, DR_ERR_IO,
						  "storage driver \"%s\" listed directory \"%s\" out of order (\"%s\" after \"%s\")",
						  list->storage->iface->name, list->dir, info->name,
						  previous);
	list->entries[list->count] = *info;
	list->entries[list->count].name = pstrdup(info->name);
	list->count++;
	return true;
}

static void
storageListPageFree(StorageList *list)
{
	for (int i = 0; i < list->count; i++)
		pfree((char *) list->entries[i].name);
	list->count = 0;
	list->next = 0;
}

/* Replace the current page (all returned) by the next one. */
static bool
storageListFetch(StorageList *list, DrError *err)
{
	const StorageDriverInterface *iface = list->storage->iface;
	bool		ok;

	storageListPageFree(list);
	list->more = false;
	if (iface->listPage)
		ok = iface->listPage(list->storage->driver, list->dir, list->last,
							 list->pageSize, storageListCollect, list,
							 &list->more, err);
	else
	{
		StorageListPage *page = storageListPageNew(list->last, list->pageSize);

		ok = iface->list(list->storage->driver, list->dir,
						 storageListPageOffer, page, err);
		if (ok)
			ok = storageListPageEmit(page, storageListCollect, list,
									 &list->more, err);
		else
			(void) storageListPageEmit(page, NULL, NULL, &list->more, err);
	}
	if (ok && list->count == 0 && list->more)
		ok = drErrorSet(err, DR_ERR_IO,
						"storage driver \"%s\" listed an empty page of directory \"%s\" with more to come",
						iface->name, list->dir);
	if (!ok)
		storageListPageFree(list);
	return ok;
}

StorageList *
storageListOpen(Storage *storage, const char *dir,
				const StorageListParam *param, DrError *err)
{
	StorageList *list;

	if (dir == NULL)
		dir = "";
	if (!storagePathCheck(dir, true, err))
		return NULL;
	list = palloc0(sizeof(StorageList));
	list->storage = storage;
	list->dir = pstrdup(dir);
	list->pageSize = param && param->pageSize > 0 ?
		param->pageSize : STORAGE_LIST_PAGE;
	list->entries = palloc(sizeof(StorageInfo) * list->pageSize);
	list->last = pstrdup("");
	list->more = true;			/* the first page is still to fetch */
	return list;
}

bool
storageListNext(StorageList *list, const StorageInfo **info, DrError *err)
{
	*info = NULL;
	if (list->next == list->count)
	{
		if (!list->more)
			return true;
		if (!storageListFetch(list, err))
			return false;
		if (list->count == 0)
			return true;
	}
	pfree(list->last);
	list->last = pstrdup(list->entries[list->next].name);
	*info = &list->entries[list->next++];
	return true;
}

void
storageListClose(StorageList *list)
{
	if (list == NULL)
		return;
	storageListPageFree(list);
	pfree(list->entries);
	pfree(list->last);
	pfree(list->dir);
	pfree(list);
}

bool
storageRemove(Storage *storage, const char *path, DrError *err)
{
	if (!storagePathCheck(path, false, err))
		return false;
	return storage->iface->remove(storage->driver, path, err);
}

/* Names found in one directory by storageRemoveTree. */
typedef struct StorageTreeList
{
	int			count;
	int			size;
	char	  **names;
	bool	   *isDir;
} StorageTreeList;

static bool
storageTreeListAdd(void *arg, const StorageInfo *info, DrError *err)
{
	StorageTreeList *list = arg;

	if (list->count == list->size)
	{
		list->size = list->size ? list->size * 2 : 16;
		list->names = list->names ?
			repalloc(list->names, sizeof(char *) * list->size) :
			palloc(sizeof(char *) * list->size);
		list->isDir = list->isDir ?
			repalloc(list->isDir, sizeof(bool) * list->size) :
			palloc(sizeof(bool) * list->size);
	}
	list->names[list->count] = pstrdup(info->name);
	list->isDir[list->count] = info->isDir;
	list->count++;
	return true;
}

/*
 * The names of one directory are collected before anything is removed
 * (removing while a driver lists is not something every driver allows);
 * a backup directory holds a bounded number of entries per level.
 */
static bool
storageRemoveTreeLevel(Storage *storage, const char *dir, int depth,
					   DrError *err)
{
	StorageTreeList list = {0};
	bool		result = true;

	if (depth > 64)
		return drErrorSet(err, DR_ERR_INVALID,
						  "could not remove \"%s\": directories nested too deeply",
						  dir);
	if (!storage->iface->list(storage->driver, dir, storageTreeListAdd, &list,
							  err))
		result = false;

	for (int i = 0; result && i < list.count; i++)
	{
		char	   *path = psprintf("%s/%s", dir, list.names[i]);

		if (!storagePathCheck(path, false, err))
			result = false;
		else if (list.isDir[i])
			result = storageRemoveTreeLevel(storage, path, depth + 1, err);
		else
			result = storage->iface->remove(storage->driver, path, err);
		pfree(path);
	}
	for (int i = 0; i < list.count; i++)
		pfree(list.names[i]);
	if (list.names)
	{
		pfree(list.names);
		pfree(list.isDir);
	}

	if (result && (storage->iface->features & STORAGE_FEATURE_PATH) &&
		storage->iface->removeDir != NULL)
		result = storage->iface->removeDir(storage->driver, dir, err);
	return result;
}

bool
storageRemoveTree(Storage *storage, const char *dir, DrError *err)
{
	if (!storagePathCheck(dir, false, err))
		return false;
	if (storage->iface->removeTree != NULL)
		return storage->iface->removeTree(storage->driver, dir, err);
	return storageRemoveTreeLevel(storage, dir, 0, err);
}

bool
storageRemoveStale(Storage *storage, const char *dir, int64 olderThan,
				   int *removed, DrError *err)
{
	*removed = 0;
	if (!storagePathCheck(dir, true, err))
		return false;
	if (storage->iface->removeStale == NULL)
		return true;
	return storage->iface->removeStale(storage->driver, dir, olderThan,
									   removed, err);
}

bool
storageRemoveDir(Storage *storage, const char *dir, DrError *err)
{
	if (!storagePathCheck(dir, false, err))
		return false;
	if (!(storage->iface->features & STORAGE_FEATURE_PATH) ||
		storage->iface->removeDir == NULL)
		return true;
	return storage->iface->removeDir(storage->driver, dir, err);
}

bool
storagePut(Storage *storage, const char *path, const void *buf, size_t len,
		   const StorageWriteParam *param, DrError *err)
{
	StorageWrite *write = storageWriteBegin(storage, path, param, err);

	if (write == NULL)
		return false;
	if (!storageWrite(write, buf, len, err))
	{
		storageWriteAbort(write);
		return false;
	}
	return storageWriteEnd(write, err);
}

/*
 * The buffer grows in steps as data arrives rather than being sized from
 * maxLen up front: callers pass generous limits, and most objects read this
 * way are a few hundred bytes.  The content is followed by a '\0' that is
 * not counted in *len, so text objects can be parsed in place.
 */
char *
storageReadAll(CodecSource source, const char *name, size_t *len,
			   size_t maxLen, DrError *err)
{
	char	   *buf;
	size_t		size;
	size_t		used = 0;

	/* keep maxLen + 2 from overflowing and within what palloc accepts */
	if (maxLen > STORAGE_GET_MAX)
		maxLen = STORAGE_GET_MAX;

	/* room for maxLen bytes, one more to detect a larger object, and '\0' */
	size = Min(maxLen + 2, STORAGE_GET_STEP);
	buf = palloc(size);
	for (;;)
	{
		ssize_t		n;

		if (used == size - 1)
		{
			if (used > maxLen)
				break;
			size = Min(maxLen + 2, size * 2);
			buf = repalloc(buf, size);
		}
		n = source.read(source.arg, buf + used, size - 1 - used, err);
		if (n < 0)
		{
			pfree(buf);
			return NULL;
		}
		if (n == 0)
			break;
		used += n;
	}
	if (used > maxLen)
	{
		drErrorSet(err, DR_ERR_INVALID, "object \"%s\" is larger than %zu bytes",
				   name, maxLen);
		pfree(buf);
		return NULL;
	}
	buf[used] = '\0';
	*len = used;
	return buf;
}

char *
storageGet(Storage *storage, const char *path, size_t *len, size_t maxLen,
		   DrError *err)
{
	StorageRead *read;
	char	   *buf;

	read = storageReadBegin(storage, path, err);
	if (read == NULL)
		return NULL;
	buf = storageReadAll(storageReadSource(read), path, len, maxLen, err);
	storageReadEnd(read);
	return buf;
}

static bool
storageSinkWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	return storageWrite((StorageWrite *) arg, buf, len, err);
}

CodecSink
storageWriteSink(StorageWrite *write)
{
	CodecSink	sink = {storageSinkWrite, write};

	return sink;
}

/*
 * The codec expects a short read only at the end of input, while a driver
 * may return less (a network store hands over what arrived): loop until the
 * buffer is full or the object ends.
 */
static ssize_t
storageSourceRead(void *arg, void *buf, size_t len, DrError *err)
{
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = storageRead((StorageRead *) arg, (char *) buf + done,
									len - done, err);

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

CodecSource
storageReadSource(StorageRead *read)
{
	CodecSource source = {storageSourceRead, read};

	return source;
}
