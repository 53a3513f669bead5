/* url_cache.h: an on-disk cache of URL-source bytes (-o cache_dir).
 *
 * Bytes are kept in blocks of IRPA_CACHE_BLOCK bytes (the last block of an
 * object shorter), one file per block named by a hash of the object's URL
 * and identity (url_source.h records it at open) and the block's index:
 * a replaced object has another identity, so its blocks are never mixed
 * with the old ones. Each block file starts with its full key (URL and
 * identity), compared on every hit: two objects whose hashes collide (a
 * manifest can choose its URL and its server's ETag) never share bytes. A block is written to a temporary file and renamed
 * into place, so a reader never sees half of one, and a hit must have the
 * block's exact length. The cache survives restarts (its files are found
 * again by name); its total size is kept under the limit by removing the
 * least recently used blocks (a hit touches the block's mtime). Safe from
 * several threads; every failure of the cache is a miss, never an error. */
#ifndef IRPA_URL_CACHE_H
#define IRPA_URL_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"

#define IRPA_CACHE_BLOCK (1u << 20)

typedef struct irpa_url_cache irpa_url_cache;

/* Opens (creating it, 0700) the cache directory `directory`, limited to
 * `limit` bytes (at least one block), and counts what it holds. It must be
 * owned by the caller's user and writable by nobody else. NULL with one
 * error on failure. */
irpa_url_cache *irpa_url_cache_open(const char *directory, uint64_t limit,
                                    irpa_errors *errors);

void irpa_url_cache_close(irpa_url_cache *cache);

/* The key of an object: two hashes of its URL and identity (128 bits, the
 * block files' names) and the key in full, "URL\nidentity" (owned; NULL
 * out of memory, when the cache is not used). */
typedef struct irpa_cache_key {
    uint64_t first, second;
    char *text;
} irpa_cache_key;

irpa_cache_key irpa_url_cache_key(const char *url, const char *identity);

void irpa_url_cache_key_free(irpa_cache_key *key);

/* Copies `length` bytes at `offset` within block `block` of object `key`
 * (whose full length is `block_length`) into `buffer`: true on a hit. */
bool irpa_url_cache_get(irpa_url_cache *cache, irpa_cache_key key, uint64_t block,
                        uint64_t block_length, void *buffer, uint64_t offset, uint64_t length);

/* Opens block `block` of object `key` (whose full length is
 * `block_length`) to read it in place (a reply spliced from the file): its
 * descriptor, for the caller to close, with the block's first byte at
 * *data_offset in the file; -1 on a miss. A hit counts as a use. */
int irpa_url_cache_open_block(irpa_url_cache *cache, irpa_cache_key key, uint64_t block,
                              uint64_t block_length, uint64_t *data_offset);

/* Stores block `block` of object `key` (`length` bytes), evicting least
 * recently used blocks past the limit. */
void irpa_url_cache_put(irpa_url_cache *cache, irpa_cache_key key, uint64_t block,
                        const void *bytes, uint64_t length);

/* Bytes the cache holds now (for tests and logs). */
uint64_t irpa_url_cache_bytes(irpa_url_cache *cache);

#endif
