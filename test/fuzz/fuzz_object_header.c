/*-------------------------------------------------------------------------
 * fuzz_object_header.c
 *	  libFuzzer target for what reads untrusted repository objects:
 *	  codecHeaderParse, then a whole codecDecoderNew/Read/End pass.
 *
 * Any input must end in a clean success or a clean DrError: no crash, no
 * read outside the input, no leak, bounded memory (the decoder may not
 * trust the header's chunk size or zstd's window beyond their limits).
 * The key lookup answers every id with one fixed key, so encrypted inputs
 * reach chunk authentication instead of stopping at "no such key".
 *
 *   make fuzz
 *   build/fuzz/fuzz_object_header -max_total_time=60 CORPUS_DIR
 *
 * Compiled with -DFUZZ_SEED_MAIN instead, it is a small program that
 * writes valid objects (plain, zstd, encrypted with the fixed key) into the
 * directory given as its argument, as a seed corpus.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/codec.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

typedef struct FuzzSource
{
	const uint8 *data;
	size_t		len;
	size_t		pos;
} FuzzSource;

static ssize_t
fuzzRead(void *arg, void *buf, size_t len, DrError *err)
{
	FuzzSource *src = arg;
	size_t		n = Min(len, src->len - src->pos);

	memcpy(buf, src->data + src->pos, n);
	src->pos += n;
	return (ssize_t) n;
}

/* The fixed key's bytes; the id is whatever the object asks for. */
static void
fuzzKeyFill(CodecDataKey *key, const uint8 *keyId)
{
	for (int i = 0; i < CODEC_KEY_SIZE; i++)
		key->key[i] = (uint8) (0x5a ^ i);
	memcpy(key->id, keyId, CODEC_KEY_ID_SIZE);
}

static const CodecDataKey *
fuzzLookup(void *arg, const uint8 *keyId, DrError *err)
{
	CodecDataKey *key = arg;

	fuzzKeyFill(key, keyId);
	return key;
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	CodecHeader header;
	CodecDataKey key;
	FuzzSource src = {data, size, 0};
	CodecSource source = {fuzzRead, &src};
	CodecDecoder *dec;
	CodecResult result;
	DrError		err;
	uint8		buf[4096];
	ssize_t		n;

	(void) codecHeaderParse(data, size, &header, &err);

	dec = codecDecoderNew(source, fuzzLookup, &key, &err);
	if (dec == NULL)
		return 0;
	while ((n = codecDecoderRead(dec, buf, sizeof(buf), &err)) > 0)
		;
	if (n == 0)
		(void) codecDecoderEnd(dec, &result, &err);
	else
		codecDecoderFree(dec);
	return 0;
}

#ifdef FUZZ_SEED_MAIN

#include <stdio.h>

static bool
seedWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	return fwrite(buf, 1, len, (FILE *) arg) == len;
}

int
main(int argc, char **argv)
{
	static const struct
	{
		const char *name;
		int			level;
		bool		encrypted;
		uint32		chunkSize;
	}			seeds[] = {
		{"plain-stored", 0, false, 64},
		{"plain-zstd", 3, false, 64},
		{"plain-zstd-1chunk", 19, false, 0},
		{"enc-stored", 0, true, 64},
		{"enc-zstd", 3, true, 128},
	};
	CodecDataKey key;
	uint8		id[CODEC_KEY_ID_SIZE];
	char		content[700];

	if (argc != 2)
	{
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	memset(id, 0x11, sizeof(id));
	fuzzKeyFill(&key, id);
	for (int i = 0; i < (int) sizeof(content); i++)
		content[i] = "pg_dr fuzz seed "[i % 16] + (i / 97);

	for (int i = 0; i < (int) lengthof(seeds); i++)
	{
		CodecEncodeParam param = {seeds[i].level,
		seeds[i].encrypted ? &key : NULL, seeds[i].chunkSize, NULL};
		char	   *path = psprintf("%s/%s", argv[1], seeds[i].name);
		FILE	   *f = fopen(path, "wb");
		CodecSink	sink = {seedWrite, f};
		CodecEncoder *enc;
		DrError		err;

		if (f == NULL)
		{
			perror(path);
			return 1;
		}
		enc = codecEncoderNew(&param, sink, &err);
		if (enc == NULL || !codecEncoderWrite(enc, content, sizeof(content), &err) ||
			!codecEncoderEnd(enc, NULL, &err))
		{
			fprintf(stderr, "%s: %s\n", seeds[i].name, err.message);
			return 1;
		}
		fclose(f);
		pfree(path);
	}
	return 0;
}

#endif							/* FUZZ_SEED_MAIN */
