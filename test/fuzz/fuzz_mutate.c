/*-------------------------------------------------------------------------
 * fuzz_mutate.c
 *	  A simple random mutation driver for a fuzz target (fuzz_mutate.h):
 *	  each input is one of the target's seeds, changed by 1 to 8 random
 *	  mutations (bit flips, bytes replaced by random or syntax bytes,
 *	  bytes inserted, ranges deleted or repeated, a piece of another seed
 *	  spliced in, the end cut off), and handed to LLVMFuzzerTestOneInput.
 *	  The seeds themselves go first.
 *
 *	  build/fuzz-smoke/fuzz_x [iterations [random seed]]
 *
 * Deterministic for a given random seed (printed), so a crash found in
 * the unit suite is reproduced by running the same command.  Output is
 * TAP: reaching the end means no input crashed the target (a crash, a
 * sanitizer report or a failed invariant ends the process first).
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "fuzz_mutate.h"

#define FUZZ_INPUT_MAX	(64 * 1024)

static uint64 fuzzState;

/* xorshift64*: quick, and the same sequence on every machine */
static uint64
fuzzRandom(void)
{
	fuzzState ^= fuzzState >> 12;
	fuzzState ^= fuzzState << 25;
	fuzzState ^= fuzzState >> 27;
	return fuzzState * UINT64CONST(2685821657736338717);
}

static size_t
fuzzBelow(size_t n)
{
	return n == 0 ? 0 : (size_t) (fuzzRandom() % n);
}

/* Mutate buf[0..*len) in place (room for FUZZ_INPUT_MAX bytes). */
static void
fuzzMutate(uint8 *buf, size_t *len, const char *const *seeds, int nseeds)
{
	static const char syntax[] = "<>/&;\"'=!?-[]#x \n\r\t\0\xff\xc3\xa9\x80";
	int			rounds = 1 + (int) fuzzBelow(8);

	for (int r = 0; r < rounds; r++)
	{
		size_t		pos = fuzzBelow(*len + 1);
		size_t		n;

		switch (fuzzBelow(8))
		{
			case 0:				/* flip a bit */
				if (*len > 0)
					buf[fuzzBelow(*len)] ^= (uint8) (1 << fuzzBelow(8));
				break;
			case 1:				/* a random byte */
				if (*len > 0)
					buf[fuzzBelow(*len)] = (uint8) fuzzRandom();
				break;
			case 2:				/* a byte that means something in XML */
				if (*len > 0)
					buf[fuzzBelow(*len)] = (uint8) syntax[fuzzBelow(sizeof(syntax) - 1)];
				break;
			case 3:				/* insert a few bytes */
				n = Min(1 + fuzzBelow(4), FUZZ_INPUT_MAX - *len);
				memmove(buf + pos + n, buf + pos, *len - pos);
				for (size_t i = 0; i < n; i++)
					buf[pos + i] = (uint8) syntax[fuzzBelow(sizeof(syntax) - 1)];
				*len += n;
				break;
			case 4:				/* delete a range */
				n = fuzzBelow(Min(*len - Min(pos, *len), 64) + 1);
				memmove(buf + pos, buf + pos + n, *len - pos - n);
				*len -= n;
				break;
			case 5:				/* repeat a range */
				if (pos < *len)
				{
					n = Min(1 + fuzzBelow(Min(*len - pos, 256)), FUZZ_INPUT_MAX - *len);
					memmove(buf + pos + n, buf + pos, *len - pos);
					*len += n;
				}
				break;
			case 6:				/* splice in a piece of another seed */
				{
					const char *other = seeds[fuzzBelow(nseeds)];
					size_t		olen = strlen(other);
					size_t		from = fuzzBelow(olen);

					n = Min(fuzzBelow(olen - from) + 1, FUZZ_INPUT_MAX - *len);
					if (olen == 0)
						break;
					memmove(buf + pos + n, buf + pos, *len - pos);
					memcpy(buf + pos, other + from, n);
					*len += n;
				}
				break;
			case 7:				/* cut the end off */
				*len = pos;
				break;
		}
	}
}

int
main(int argc, char **argv)
{
	long		iterations = argc > 1 ? atol(argv[1]) : 20000;
	uint64		seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 20261203;
	int			nseeds;
	const char *const *seeds = fuzzSeeds(&nseeds);
	uint8	   *buf = malloc(FUZZ_INPUT_MAX);
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	if (buf == NULL || nseeds == 0 || iterations < 0)
	{
		printf("Bail out! %s: no memory, no seeds or a negative count\n", name);
		return 1;
	}
	fuzzState = seed ? seed : 1;
	printf("# %s: %ld inputs from %d seeds, random seed " UINT64_FORMAT "\n",
		   name, iterations, nseeds, seed);
	fflush(stdout);
	for (long i = 0; i < iterations; i++)
	{
		const char *s = seeds[i % nseeds];
		size_t		len = Min(strlen(s), (size_t) FUZZ_INPUT_MAX);

		memcpy(buf, s, len);
		if (i >= nseeds)
			fuzzMutate(buf, &len, seeds, nseeds);
		LLVMFuzzerTestOneInput(buf, len);
	}
	free(buf);
	printf("ok 1 - %s: %ld inputs (seeds, then random mutations of them) and no crash, "
		   "sanitizer report or broken invariant\n1..1\n", name, iterations);
	return 0;
}
