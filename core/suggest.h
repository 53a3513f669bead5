/* suggest.h: "did you mean": the known word nearest to a mistyped one.
 *
 * A word is near a candidate when at most 2 edits (insert, delete, replace,
 * or swap two neighbours) turn one into the other, and fewer edits than the
 * candidate has letters. Long words and long candidate lists get no
 * suggestion, so a message costs the same whatever the input.
 *
 *   irpa_suggest          the candidate nearest to a word, or NULL
 *   irpa_suggestion_tail  the end of a message: "; did you mean 'x'?" or what was expected
 *   irpa_join_words       "a, b, c" */
#ifndef IRPA_SUGGEST_H
#define IRPA_SUGGEST_H

#include <stddef.h>

#define IRPA_SUGGEST_MAX_LENGTH 64       /* longer words get no "did you mean" */
#define IRPA_SUGGEST_MAX_CANDIDATES 256  /* more candidates get no "did you mean" */
#define IRPA_SUGGESTION_TAIL_SIZE 320    /* room for any irpa_suggestion_tail */

/* For "did you mean": the candidate nearest to `word` (at most 2 edits,
 * and fewer than the candidate's length); NULL when none is that near, or
 * when there are more than 256 candidates or `word` is over 64 bytes. */
const char *irpa_suggest(const char *word, const char *const *candidates, size_t count);

/* The end of a message saying that the `word_length` bytes of `word` are
 * none of `candidates`, written into `out`: "; did you mean 'NEAREST'?"
 * when one is near (irpa_suggest); else "; OTHERWISE", or "; expected one
 * of: A, B, C" (the candidates) when `otherwise` is NULL, or nothing when
 * `otherwise` is "". */
const char *irpa_suggestion_tail(char out[IRPA_SUGGESTION_TAIL_SIZE], const char *word,
                                 size_t word_length, const char *const *candidates, size_t count,
                                 const char *otherwise);

/* Writes "a, b, c" (as much as fits) into `out` of `size` bytes. */
const char *irpa_join_words(char *out, size_t size, const char *const *words, size_t count);

#endif
