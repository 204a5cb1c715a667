/*-------------------------------------------------------------------------
 * codec_bench.c
 *	  Driver for bench/codec: runs the object codec over a file, single
 *	  threaded, the way a backup file worker would.
 *
 *   codec_bench encode INPUT OUTPUT [LEVEL [CHUNK_SIZE]]
 *   codec_bench decode INPUT OUTPUT
 *
 * encode: INPUT through zstd (LEVEL, default 3), AES-256-GCM and SHA-256
 * into OUTPUT (may be /dev/null).  decode: the reverse, with the same
 * fixed benchmark key.  Prints one line: "bytes_in bytes_out seconds", the
 * time covering the whole read-codec-write loop.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/codec.h"

#define BENCH_IO_SIZE	(1024 * 1024)

/* A fixed key: this program measures speed, it protects nothing. */
static CodecDataKey benchKey;

typedef struct BenchFd
{
	int			fd;
	uint64		bytes;
} BenchFd;

static bool
benchWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	BenchFd    *out = arg;
	const char *p = buf;

	while (len > 0)
	{
		ssize_t		n = write(out->fd, p, len);

		if (n < 0)
			return drErrorSet(err, DR_ERR_IO, "write failed: %m");
		p += n;
		len -= (size_t) n;
		out->bytes += (uint64) n;
	}
	return true;
}

static ssize_t
benchRead(void *arg, void *buf, size_t len, DrError *err)
{
	BenchFd    *in = arg;
	size_t		done = 0;

	/* the codec wants full reads except at the end */
	while (done < len)
	{
		ssize_t		n = read(in->fd, (char *) buf + done, len - done);

		if (n < 0)
		{
			drErrorSet(err, DR_ERR_IO, "read failed: %m");
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t) n;
	}
	in->bytes += done;
	return (ssize_t) done;
}

static const CodecDataKey *
benchLookup(void *arg, const uint8 *keyId, DrError *err)
{
	return &benchKey;
}

static double
benchNow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool
benchEncode(BenchFd *in, BenchFd *out, int level, uint32 chunkSize,
			DrError *err)
{
	CodecEncodeParam param = {level, &benchKey, chunkSize};
	CodecSink	sink = {benchWrite, out};
	CodecEncoder *enc = codecEncoderNew(&param, sink, err);
	char	   *buf = palloc(BENCH_IO_SIZE);
	ssize_t		n;

	if (enc == NULL)
		return false;
	while ((n = benchRead(in, buf, BENCH_IO_SIZE, err)) > 0)
	{
		if (!codecEncoderWrite(enc, buf, (size_t) n, err))
		{
			codecEncoderFree(enc);
			return false;
		}
	}
	if (n < 0)
	{
		codecEncoderFree(enc);
		return false;
	}
	pfree(buf);
	return codecEncoderEnd(enc, NULL, err);
}

static bool
benchDecode(BenchFd *in, BenchFd *out, DrError *err)
{
	CodecSource source = {benchRead, in};
	CodecDecoder *dec = codecDecoderNew(source, benchLookup, NULL, err);
	char	   *buf = palloc(BENCH_IO_SIZE);
	ssize_t		n;

	if (dec == NULL)
		return false;
	while ((n = codecDecoderRead(dec, buf, BENCH_IO_SIZE, err)) > 0)
	{
		if (!benchWrite(out, buf, (size_t) n, err))
		{
			codecDecoderFree(dec);
			return false;
		}
	}
	pfree(buf);
	if (n < 0)
	{
		codecDecoderFree(dec);
		return false;
	}
	return codecDecoderEnd(dec, NULL, err);
}

int
main(int argc, char **argv)
{
	BenchFd		in = {-1, 0};
	BenchFd		out = {-1, 0};
	DrError		err;
	double		start;
	bool		ok;
	bool		encode;

	if (argc < 4 || (strcmp(argv[1], "encode") != 0 && strcmp(argv[1], "decode") != 0))
	{
		fprintf(stderr, "usage: %s encode|decode INPUT OUTPUT [LEVEL [CHUNK_SIZE]]\n",
				argv[0]);
		return 2;
	}
	encode = strcmp(argv[1], "encode") == 0;
	for (int i = 0; i < CODEC_KEY_ID_SIZE; i++)
		benchKey.id[i] = (uint8) (i + 1);
	for (int i = 0; i < CODEC_KEY_SIZE; i++)
		benchKey.key[i] = (uint8) (i * 31 + 7);

	in.fd = open(argv[2], O_RDONLY);
	out.fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in.fd < 0 || out.fd < 0)
	{
		perror("open");
		return 1;
	}

	start = benchNow();
	if (encode)
		ok = benchEncode(&in, &out, argc > 4 ? atoi(argv[4]) : 3,
						 argc > 5 ? (uint32) atol(argv[5]) : 0, &err);
	else
		ok = benchDecode(&in, &out, &err);
	if (!ok)
	{
		fprintf(stderr, "codec_bench: [%s] %s\n", drErrorCodeName(err.code),
				err.message);
		return 1;
	}
	printf(UINT64_FORMAT " " UINT64_FORMAT " %.3f\n", in.bytes, out.bytes,
		   benchNow() - start);
	close(in.fd);
	close(out.fd);
	return 0;
}
