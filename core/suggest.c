/* suggest.c: "did you mean" (suggest.h). */
#include "suggest.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LISTED_SIZE 256 /* room for the candidates listed as "expected one of" */

/* Optimal string alignment distance (edits, with swaps of neighbours
 * counting one), for words of at most IRPA_SUGGEST_MAX_LENGTH bytes. */
static size_t edit_distance(const char *a, size_t a_length, const char *b, size_t b_length) {
    size_t before_previous[IRPA_SUGGEST_MAX_LENGTH + 1];
    size_t previous[IRPA_SUGGEST_MAX_LENGTH + 1];
    size_t current[IRPA_SUGGEST_MAX_LENGTH + 1];
    for (size_t j = 0; j <= b_length; j++) previous[j] = before_previous[j] = j;
    for (size_t i = 1; i <= a_length; i++) {
        current[0] = i;
        for (size_t j = 1; j <= b_length; j++) {
            size_t substitution = previous[j - 1] + (a[i - 1] != b[j - 1]);
            size_t deletion = previous[j] + 1;
            size_t insertion = current[j - 1] + 1;
            size_t best = substitution < deletion ? substitution : deletion;
            if (insertion < best) best = insertion;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                before_previous[j - 2] + 1 < best)
                best = before_previous[j - 2] + 1;
            current[j] = best;
        }
        memcpy(before_previous, previous, sizeof previous);
        memcpy(previous, current, sizeof current);
    }
    return previous[b_length];
}

/* The candidate nearest to `word`, when it is near enough (at most 2 edits,
 * and fewer edits than its length); NULL otherwise. */
static const char *nearest(const char *word, size_t word_length, const char *const *candidates,
                           size_t candidate_count) {
    if (word_length > IRPA_SUGGEST_MAX_LENGTH || candidate_count > IRPA_SUGGEST_MAX_CANDIDATES)
        return NULL;
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (size_t i = 0; i < candidate_count; i++) {
        size_t length = strlen(candidates[i]);
        if (length > IRPA_SUGGEST_MAX_LENGTH) continue;
        size_t distance = edit_distance(word, word_length, candidates[i], length);
        if (distance < best_distance && distance <= 2 && distance < length) {
            best = candidates[i];
            best_distance = distance;
        }
    }
    return best;
}

const char *irpa_suggest(const char *word, const char *const *candidates, size_t count) {
    return nearest(word, strlen(word), candidates, count);
}

const char *irpa_suggestion_tail(char out[IRPA_SUGGESTION_TAIL_SIZE], const char *word,
                                 size_t word_length, const char *const *candidates, size_t count,
                                 const char *otherwise) {
    const char *suggestion = nearest(word, word_length, candidates, count);
    char listed[LISTED_SIZE];
    if (suggestion)
        snprintf(out, IRPA_SUGGESTION_TAIL_SIZE, "; did you mean '%s'?", suggestion);
    else if (!otherwise)
        snprintf(out, IRPA_SUGGESTION_TAIL_SIZE, "; expected one of: %s",
                 irpa_join_words(listed, sizeof listed, candidates, count));
    else if (otherwise[0])
        snprintf(out, IRPA_SUGGESTION_TAIL_SIZE, "; %s", otherwise);
    else
        out[0] = '\0';
    return out;
}

const char *irpa_join_words(char *out, size_t size, const char *const *words, size_t count) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count && used < size; i++) {
        int written = snprintf(out + used, size - used, "%s%s", i ? ", " : "", words[i]);
        if (written < 0) break;
        used += (size_t)written;
    }
    return out;
}
