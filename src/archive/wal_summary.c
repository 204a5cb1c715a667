/*-------------------------------------------------------------------------
 * wal_summary.c
 *	  WAL summaries: the builder, the format (wal_summary.h) and the pure
 *	  decision of which blocks of a relation file an incremental reads.
 *
 * Shared half: the archive's summarizer (wal_summarize.c) builds and
 * encodes, the backup decodes and picks, and the unit tests exercise all
 * of it without a server.  Nothing here reads WAL.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "archive/wal_summary.h"

/* One fact about one fork, as added to a builder. */
typedef enum WalSummaryItemKind
{
	ITEM_BLOCK = 0,
	ITEM_CREATE,
	ITEM_LIMIT,
	ITEM_DATABASE
} WalSummaryItemKind;

typedef struct WalSummaryItem
{
	WalSummaryKey key;
	uint8		kind;			/* WalSummaryItemKind */
	uint32		value;			/* block or limit */
} WalSummaryItem;

struct WalSummaryBuilder
{
	uint32		tli;
	uint64		startLsn;
	bool		vouched;
	char		reason[WAL_SUMMARY_REASON_MAX + 1];
	WalSummaryItem *items;
	size_t		count;
	size_t		size;
};

static int
keyCompare(const WalSummaryKey *a, const WalSummaryKey *b)
{
	if (a->spcOid != b->spcOid)
		return a->spcOid < b->spcOid ? -1 : 1;
	if (a->dbOid != b->dbOid)
		return a->dbOid < b->dbOid ? -1 : 1;
	if (a->relNumber != b->relNumber)
		return a->relNumber < b->relNumber ? -1 : 1;
	if (a->fork != b->fork)
		return a->fork < b->fork ? -1 : 1;
	return 0;
}

static int
itemCompare(const void *pa, const void *pb)
{
	const WalSummaryItem *a = pa;
	const WalSummaryItem *b = pb;
	int			c = keyCompare(&a->key, &b->key);

	if (c != 0)
		return c;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	return 0;
}

WalSummaryBuilder *
walSummaryBuilderNew(uint32 tli, uint64 startLsn)
{
	WalSummaryBuilder *b = palloc0(sizeof(WalSummaryBuilder));

	b->tli = tli;
	b->startLsn = startLsn;
	b->vouched = true;
	b->size = 1024;
	b->items = palloc(sizeof(WalSummaryItem) * b->size);
	return b;
}

/* Sort the items and drop the repeats. */
static void
builderCompact(WalSummaryBuilder *b)
{
	size_t		n = 0;

	if (b->count == 0)
		return;
	qsort(b->items, b->count, sizeof(WalSummaryItem), itemCompare);
	for (size_t i = 0; i < b->count; i++)
		if (n == 0 || itemCompare(&b->items[n - 1], &b->items[i]) != 0)
			b->items[n++] = b->items[i];
	b->count = n;
}

static void
builderAdd(WalSummaryBuilder *b, const WalSummaryKey *key, uint8 kind,
		   uint32 value)
{
	WalSummaryItem *item;

	/* the same block again (a record touching one page twice, a hot page) */
	if (b->count > 0)
	{
		item = &b->items[b->count - 1];
		if (item->kind == kind && item->value == value &&
			keyCompare(&item->key, key) == 0)
			return;
	}
	if (b->count == b->size)
	{
		/* repeats out of order (hot pages) go first; grow if that is not enough */
		builderCompact(b);
		if (b->count > b->size / 2)
		{
			b->size *= 2;
			b->items = repalloc(b->items, sizeof(WalSummaryItem) * b->size);
		}
	}
	item = &b->items[b->count++];
	memset(item, 0, sizeof(*item));
	item->key = *key;
	item->kind = kind;
	item->value = value;
}

void
walSummaryAddBlock(WalSummaryBuilder *b, const WalSummaryKey *key, uint32 block)
{
	builderAdd(b, key, ITEM_BLOCK, block);
}

void
walSummaryAddCreate(WalSummaryBuilder *b, const WalSummaryKey *key)
{
	builderAdd(b, key, ITEM_CREATE, 0);
}

void
walSummaryAddLimit(WalSummaryBuilder *b, const WalSummaryKey *key,
				   uint32 limitBlock)
{
	builderAdd(b, key, ITEM_LIMIT, limitBlock);
}

void
walSummaryAddDatabase(WalSummaryBuilder *b, uint32 spcOid, uint32 dbOid)
{
	WalSummaryKey key = {spcOid, dbOid, 0, 0};

	builderAdd(b, &key, ITEM_DATABASE, 0);
}

void
walSummaryNotVouched(WalSummaryBuilder *b, const char *reason)
{
	if (!b->vouched)
		return;
	b->vouched = false;
	strlcpy(b->reason, reason, sizeof(b->reason));
}

void
walSummaryAddSummary(WalSummaryBuilder *b, const WalSummary *s)
{
	if (!s->vouched)
		walSummaryNotVouched(b, s->reason);
	for (uint32 i = 0; i < s->count; i++)
	{
		const WalSummaryFork *f = &s->forks[i];

		if (f->flags & WAL_SUMMARY_DATABASE)
			builderAdd(b, &f->key, ITEM_DATABASE, 0);
		if (f->flags & WAL_SUMMARY_CREATED)
			builderAdd(b, &f->key, ITEM_CREATE, 0);
		if (f->flags & WAL_SUMMARY_LIMIT)
			builderAdd(b, &f->key, ITEM_LIMIT, f->limitBlock);
		for (uint32 j = 0; j < f->nblocks; j++)
			builderAdd(b, &f->key, ITEM_BLOCK, f->blocks[j]);
	}
}

WalSummary *
walSummaryBuilderEnd(WalSummaryBuilder *b, uint64 endLsn)
{
	WalSummary *s = palloc0(sizeof(WalSummary));
	size_t		i = 0;
	uint32		nforks = 0;

	s->tli = b->tli;
	s->startLsn = b->startLsn;
	s->endLsn = endLsn;
	s->vouched = b->vouched;
	strlcpy(s->reason, b->reason, sizeof(s->reason));

	if (b->count > 0)
		qsort(b->items, b->count, sizeof(WalSummaryItem), itemCompare);
	for (size_t j = 0; j < b->count; j++)
		if (j == 0 || keyCompare(&b->items[j].key, &b->items[j - 1].key) != 0)
			nforks++;
	s->forks = nforks ? palloc0(sizeof(WalSummaryFork) * nforks) : NULL;

	while (i < b->count)
	{
		WalSummaryFork *f = &s->forks[s->count++];
		size_t		end = i;
		uint32		nblocks = 0;

		while (end < b->count && keyCompare(&b->items[end].key, &b->items[i].key) == 0)
		{
			if (b->items[end].kind == ITEM_BLOCK)
				nblocks++;
			end++;
		}
		f->key = b->items[i].key;
		f->blocks = nblocks ? palloc(sizeof(uint32) * nblocks) : NULL;
		for (; i < end; i++)
		{
			const WalSummaryItem *item = &b->items[i];

			switch ((WalSummaryItemKind) item->kind)
			{
				case ITEM_BLOCK:
					/* sorted: a repeat is the previous one */
					if (f->nblocks == 0 || f->blocks[f->nblocks - 1] != item->value)
						f->blocks[f->nblocks++] = item->value;
					break;
				case ITEM_CREATE:
					f->flags |= WAL_SUMMARY_CREATED;
					break;
				case ITEM_LIMIT:
					/* sorted: the first is the smallest */
					if (!(f->flags & WAL_SUMMARY_LIMIT))
						f->limitBlock = item->value;
					f->flags |= WAL_SUMMARY_LIMIT;
					break;
				case ITEM_DATABASE:
					f->flags |= WAL_SUMMARY_DATABASE;
					break;
			}
		}
	}
	pfree(b->items);
	pfree(b);
	return s;
}

void
walSummaryFree(WalSummary *s)
{
	if (s == NULL)
		return;
	for (uint32 i = 0; i < s->count; i++)
		if (s->forks[i].blocks)
			pfree(s->forks[i].blocks);
	if (s->forks)
		pfree(s->forks);
	pfree(s);
}

/* Encoding */

static void
put32(StringInfo out, uint32 v)
{
	uint8		b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (uint8) (v >> (8 * i));
	appendBinaryStringInfo(out, (const char *) b, 4);
}

static void
put64(StringInfo out, uint64 v)
{
	put32(out, (uint32) v);
	put32(out, (uint32) (v >> 32));
}

static void
putVarint(StringInfo out, uint32 v)
{
	do
	{
		uint8		byte = v & 0x7f;

		v >>= 7;
		if (v)
			byte |= 0x80;
		appendStringInfoChar(out, (char) byte);
	} while (v);
}

void
walSummaryEncode(const WalSummary *s, StringInfo out)
{
	size_t		reasonLen = s->vouched ? 0 : strlen(s->reason);

	appendBinaryStringInfo(out, WAL_SUMMARY_MAGIC, 8);
	put32(out, s->tli);
	put32(out, s->vouched ? 0 : 1);
	put64(out, s->startLsn);
	put64(out, s->endLsn);
	appendStringInfoChar(out, (char) (reasonLen & 0xff));
	appendStringInfoChar(out, (char) (reasonLen >> 8));
	appendBinaryStringInfo(out, s->reason, reasonLen);
	put32(out, s->count);
	for (uint32 i = 0; i < s->count; i++)
	{
		const WalSummaryFork *f = &s->forks[i];
		uint32		prev = 0;

		put32(out, f->key.spcOid);
		put32(out, f->key.dbOid);
		put32(out, f->key.relNumber);
		appendStringInfoChar(out, (char) f->key.fork);
		appendStringInfoChar(out, (char) f->flags);
		put32(out, f->limitBlock);
		put32(out, f->nblocks);
		for (uint32 j = 0; j < f->nblocks; j++)
		{
			putVarint(out, f->blocks[j] - prev);
			prev = f->blocks[j];
		}
	}
	appendBinaryStringInfo(out, WAL_SUMMARY_END, 8);
}

/* Decoding */

typedef struct Cursor
{
	const uint8 *p;
	const uint8 *end;
	const char *what;			/* what was being read when it ended */
} Cursor;

static bool
take(Cursor *c, size_t n, const char *what)
{
	c->what = what;
	return (size_t) (c->end - c->p) >= n;
}

static uint32
get32(Cursor *c)
{
	uint32		v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32) c->p[i] << (8 * i);
	c->p += 4;
	return v;
}

static uint64
get64(Cursor *c)
{
	uint64		lo = get32(c);

	return lo | ((uint64) get32(c) << 32);
}

static bool
getVarint(Cursor *c, uint32 *v)
{
	uint64		result = 0;

	c->what = "a block number";
	for (int shift = 0; shift < 35; shift += 7)
	{
		uint8		byte;

		if (c->p >= c->end)
			return false;
		byte = *c->p++;
		result |= (uint64) (byte & 0x7f) << shift;
		if (!(byte & 0x80))
		{
			if (result > PG_UINT32_MAX)
				return false;
			*v = (uint32) result;
			return true;
		}
	}
	return false;
}

WalSummary *
walSummaryDecode(const char *buf, size_t len, DrError *err)
{
	Cursor		c = {(const uint8 *) buf, (const uint8 *) buf + len, ""};
	WalSummary *s = palloc0(sizeof(WalSummary));
	uint32		flags;
	size_t		reasonLen;
	uint32		count;

	if (!take(&c, 8, "the magic") || memcmp(c.p, WAL_SUMMARY_MAGIC, 8) != 0)
	{
		drErrorSet(err, DR_ERR_CORRUPT, "WAL summary does not begin with \"%s\"",
				   WAL_SUMMARY_MAGIC);
		goto fail;
	}
	c.p += 8;
	if (!take(&c, 4 + 4 + 8 + 8 + 2, "the header"))
		goto truncated;
	s->tli = get32(&c);
	flags = get32(&c);
	if (flags & ~1u)
	{
		drErrorSet(err, DR_ERR_CORRUPT, "WAL summary has unknown flags 0x%x", flags);
		goto fail;
	}
	s->vouched = (flags & 1) == 0;
	s->startLsn = get64(&c);
	s->endLsn = get64(&c);
	reasonLen = c.p[0] | (c.p[1] << 8);
	c.p += 2;
	if (reasonLen > WAL_SUMMARY_REASON_MAX || (s->vouched && reasonLen != 0))
	{
		drErrorSet(err, DR_ERR_CORRUPT, "WAL summary has a reason of %zu bytes",
				   reasonLen);
		goto fail;
	}
	if (s->endLsn < s->startLsn)
	{
		drErrorSet(err, DR_ERR_CORRUPT, "WAL summary ends before it starts");
		goto fail;
	}
	if (!take(&c, reasonLen + 4, "the reason"))
		goto truncated;
	memcpy(s->reason, c.p, reasonLen);
	s->reason[reasonLen] = '\0';
	c.p += reasonLen;
	count = get32(&c);
	/* each entry takes at least 22 bytes: no allocation beyond the input */
	if (count > (size_t) (c.end - c.p) / 22)
	{
		drErrorSet(err, DR_ERR_CORRUPT, "WAL summary claims %u entries in %zu bytes",
				   count, (size_t) (c.end - c.p));
		goto fail;
	}
	s->forks = count ? palloc0(sizeof(WalSummaryFork) * count) : NULL;
	for (uint32 i = 0; i < count; i++)
	{
		WalSummaryFork *f = &s->forks[i];
		uint32		prev = 0;

		if (!take(&c, 22, "an entry"))
			goto truncated;
		f->key.spcOid = get32(&c);
		f->key.dbOid = get32(&c);
		f->key.relNumber = get32(&c);
		f->key.fork = *c.p++;
		f->flags = *c.p++;
		f->limitBlock = get32(&c);
		f->nblocks = get32(&c);
		s->count = i + 1;
		if (f->key.fork > WAL_SUMMARY_FORK_MAX ||
			(f->flags & ~(WAL_SUMMARY_CREATED | WAL_SUMMARY_LIMIT | WAL_SUMMARY_DATABASE)))
		{
			drErrorSet(err, DR_ERR_CORRUPT, "WAL summary entry %u has fork %u, flags 0x%x",
					   i, f->key.fork, f->flags);
			goto fail;
		}
		if (i > 0 && keyCompare(&s->forks[i - 1].key, &f->key) >= 0)
		{
			drErrorSet(err, DR_ERR_CORRUPT, "WAL summary entries are out of order at entry %u",
					   i);
			goto fail;
		}
		/* each block takes at least a byte */
		if (f->nblocks > (size_t) (c.end - c.p))
			goto truncated;
		f->blocks = f->nblocks ? palloc(sizeof(uint32) * f->nblocks) : NULL;
		for (uint32 j = 0; j < f->nblocks; j++)
		{
			uint32		d;

			if (!getVarint(&c, &d))
				goto truncated;
			if ((j > 0 && d == 0) || d > PG_UINT32_MAX - prev)
			{
				drErrorSet(err, DR_ERR_CORRUPT,
						   "WAL summary entry %u has blocks out of order", i);
				goto fail;
			}
			prev += d;
			f->blocks[j] = prev;
		}
	}
	if (!take(&c, 8, "the end") || memcmp(c.p, WAL_SUMMARY_END, 8) != 0)
		goto truncated;
	c.p += 8;
	if (c.p != c.end)
	{
		drErrorSet(err, DR_ERR_CORRUPT, "WAL summary has %zu bytes after its end",
				   (size_t) (c.end - c.p));
		goto fail;
	}
	return s;

truncated:
	drErrorSet(err, DR_ERR_CORRUPT, "WAL summary is truncated or damaged in %s",
			   c.what);
fail:
	walSummaryFree(s);
	return NULL;
}

const WalSummaryFork *
walSummaryFind(const WalSummary *s, const WalSummaryKey *key)
{
	uint32		lo = 0;
	uint32		hi = s->count;

	while (lo < hi)
	{
		uint32		mid = lo + (hi - lo) / 2;
		int			c = keyCompare(&s->forks[mid].key, key);

		if (c == 0)
			return &s->forks[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Paths */

/*
 * A decimal number without leading zeroes at *p, followed by a character
 * of stop or, when endOk, the end of the string.
 */
static bool
parseOid(const char **p, const char *stop, bool endOk, uint32 *oid)
{
	uint64		v = 0;
	const char *s = *p;

	if (*s < '1' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9')
	{
		v = v * 10 + (uint64) (*s - '0');
		if (v > PG_UINT32_MAX)
			return false;
		s++;
	}
	if (*s == '\0' ? !endOk : strchr(stop, *s) == NULL)
		return false;
	*oid = (uint32) v;
	*p = s;
	return true;
}

bool
walSummaryPathParse(const char *path, WalSummaryKey *key, uint32 *segno)
{
	const char *p;

	memset(key, 0, sizeof(*key));
	*segno = 0;
	if (strncmp(path, "global/", 7) == 0)
	{
		key->spcOid = 1664;		/* GLOBALTABLESPACE_OID */
		key->dbOid = 0;
		p = path + 7;
	}
	else
	{
		if (strncmp(path, "base/", 5) == 0)
		{
			key->spcOid = 1663; /* DEFAULTTABLESPACE_OID */
			p = path + 5;
		}
		else if (strncmp(path, "pg_tblspc/", 10) == 0)
		{
			const char *slash;

			p = path + 10;
			if (!parseOid(&p, "/", false, &key->spcOid))
				return false;
			p++;
			/* the version directory, "PG_15_202209061" */
			slash = strchr(p, '/');
			if (slash == NULL || strncmp(p, "PG_", 3) != 0)
				return false;
			p = slash + 1;
		}
		else
			return false;
		if (!parseOid(&p, "/", false, &key->dbOid))
			return false;
		p++;
	}
	if (!parseOid(&p, "_.", true, &key->relNumber))
		return false;
	key->fork = WAL_SUMMARY_FORK_MAIN;
	if (*p == '_')
	{
		if (strncmp(p, "_fsm", 4) == 0)
			key->fork = WAL_SUMMARY_FORK_FSM, p += 4;
		else if (strncmp(p, "_vm", 3) == 0)
			key->fork = WAL_SUMMARY_FORK_VM, p += 3;
		else if (strncmp(p, "_init", 5) == 0)
			key->fork = WAL_SUMMARY_FORK_INIT, p += 5;
		else
			return false;
	}
	if (*p == '.')
	{
		p++;
		if (!parseOid(&p, "", true, segno))
			return false;
	}
	return *p == '\0';
}

/* The blocks to read */

bool
walSummaryPick(const WalSummary *s, const char *path, bool unlogged,
			   uint32 segBlocks, uint32 parentBlocks, uint32 blocks,
			   uint32 **picked, uint32 *count, const char **why)
{
	WalSummaryKey key;
	WalSummaryKey dbKey;
	uint32		segno;
	const WalSummaryFork *f;
	uint64		first;			/* the file's first block in the fork */
	uint32		from;			/* read every block from here on */
	uint32	   *out;
	uint32		n = 0;

	*picked = NULL;
	*count = 0;
	if (!s->vouched)
	{
		*why = "the WAL summaries do not vouch for the range";
		return false;
	}
	if (!walSummaryPathParse(path, &key, &segno))
	{
		*why = "not a relation file";
		return false;
	}
	if (key.fork != WAL_SUMMARY_FORK_MAIN)
	{
		*why = "not a main fork (not wholly WAL-logged)";
		return false;
	}
	if (unlogged)
	{
		*why = "an unlogged relation";
		return false;
	}
	dbKey = key;
	dbKey.relNumber = 0;
	dbKey.fork = 0;
	f = walSummaryFind(s, &dbKey);
	if (f != NULL && (f->flags & WAL_SUMMARY_DATABASE))
	{
		*why = "its database was created or dropped in the range";
		return false;
	}
	f = walSummaryFind(s, &key);
	if (f != NULL && (f->flags & WAL_SUMMARY_CREATED))
	{
		*why = "the relation file was created in the range";
		return false;
	}

	first = (uint64) segno * segBlocks;
	from = Min(parentBlocks, blocks);
	if (f != NULL && (f->flags & WAL_SUMMARY_LIMIT) &&
		f->limitBlock < first + segBlocks)
		from = Min(from, f->limitBlock <= first ? 0 : (uint32) (f->limitBlock - first));

	out = palloc(sizeof(uint32) * (Max(blocks, 1)));
	if (f != NULL)
	{
		for (uint32 i = 0; i < f->nblocks; i++)
		{
			uint64		b = f->blocks[i];

			if (b < first)
				continue;
			if (b - first >= from)
				break;			/* the rest is read anyway */
			out[n++] = (uint32) (b - first);
		}
	}
	for (uint32 b = from; b < blocks; b++)
		out[n++] = b;
	*picked = out;
	*count = n;
	*why = NULL;
	return true;
}

bool
walSummaryBaseWorth(const uint32 *picked, uint32 count, uint32 parentBlocks)
{
	uint32		inParent = 0;
	uint32		last = 0;

	for (uint32 i = 0; i < count && picked[i] < parentBlocks; i++)
	{
		inParent++;
		last = picked[i];
	}
	if (inParent == 0)
		return false;			/* no page to XOR */
	return (uint64) inParent * WAL_SUMMARY_BASE_SPARSE >= (uint64) last + 1;
}
