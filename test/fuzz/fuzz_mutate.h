/*-------------------------------------------------------------------------
 * fuzz_mutate.h
 *	  What a fuzz target gives the simple mutation driver (fuzz_mutate.c),
 *	  which runs it without libFuzzer: for a fixed number of inputs in the
 *	  unit suite ("make unit"), under ASan and UBSan, built with gcc.
 *
 * A target driven this way defines, besides libFuzzer's entry point, the
 * documents its mutations start from.
 *-------------------------------------------------------------------------
 */
#ifndef DR_FUZZ_MUTATE_H
#define DR_FUZZ_MUTATE_H

/* libFuzzer's entry point: must not crash, leak or abort on any input. */
extern int	LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

/* The target's seed inputs, NUL-terminated strings; *count set. */
extern const char *const *fuzzSeeds(int *count);

#endif							/* DR_FUZZ_MUTATE_H */
