/* url_chunks.c: the chunk store (url_chunks.h). */
#include "url_chunks.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "clock.h"

typedef enum slot_state { SLOT_EMPTY, SLOT_FETCHING, SLOT_READY } slot_state;

typedef struct slot {
    slot_state state;
    const void *owner;      /* the source whose chunk it holds (FETCHING, READY) */
    uint64_t index;         /* the chunk's number in the object */
    uint8_t *bytes;         /* IRPA_URL_CHUNK bytes mapped (chunk_map), READY: holding the chunk; or NULL */
    int64_t emptied_ms;     /* EMPTY with bytes: monotonic ms when it emptied (irpa_url_chunks_trim) */
    uint64_t length;        /* bytes of the chunk (the object's last one may be short) */
    uint64_t served;        /* bytes copied out of it (or pinned) so far */
    unsigned pins;          /* READY: replies sent straight from it; it stays while any */
    uint64_t used;          /* the store's clock when last used, for the LRU choice */
    int64_t used_ms;        /* monotonic ms when last used */
    uint64_t fetch;         /* number of its latest fetch */
    uint64_t failed_fetch;  /* number of its latest failed fetch, 0: none */
    int failed_errno;       /* that fetch's errno */
} slot;

/* A chunk that left because it was read through: its bytes are in the
 * kernel's page cache now. A fetch ahead queued before the reader passed
 * it (reads are served in parallel, out of order) would fetch it again and
 * push out a chunk still to be read: measured, 2 to 4 chunks of every
 * 818 MiB read were fetched twice so. Such fetches skip the chunks passed
 * within PASSED_MS; a read of one fetches it (the reader came back). */
#define PASSED_RECORDS (2 * IRPA_URL_CHUNK_SLOTS)
#define PASSED_MS 2000

typedef struct passed {
    const void *owner; /* NULL: no record */
    uint64_t index;
    int64_t at_ms;     /* monotonic ms when it left */
} passed;

struct irpa_url_chunks {
    pthread_mutex_t mutex;  /* guards everything below */
    pthread_cond_t settled; /* a fetch ended (its slot is READY or EMPTY) */
    uint64_t clock;         /* counts uses */
    uint64_t fetches;       /* numbers fetches */
    passed passed[PASSED_RECORDS]; /* chunks read through lately, a ring */
    size_t next_passed;     /* the ring's next record to write */
    size_t count;
    slot slots[];
};

/* Chunk memory is mapped and unmapped, not malloc'd: glibc would keep
 * freed 16 MiB blocks in its per-thread arenas (its mmap threshold grows
 * past them after the first free), and the server's memory would stay at
 * its peak once the readers are gone. An empty slot keeps its mapping for
 * the next chunk while reads go on, and unmaps it SPARE_MS after it
 * emptied (irpa_url_chunks_trim): fresh pages cost the kernel a page fault
 * and a clearing of every page, which measured 5-9% of the server's time
 * in a streaming read. It is mapped in huge pages where
 * the kernel has them (MADV_HUGEPAGE; aligned by hand, as older kernels do
 * not align large mappings): filling 16 MiB of fresh 4 KiB pages cost 4,096
 * page faults, and measured on these virtual machines, a chunk read with
 * them ran at a quarter of the speed (171-196 against 716-737 MB/s). */
#define HUGE_PAGE (2u << 20)

#define SPARE_MS 1000 /* an empty slot's mapping is given back this long after it emptied */
/* A chunk nobody read from for this long leaves at the next trim (a
 * reader stopped short of bytes fetched ahead for it). */
#define FORGOTTEN_MS 5000

static uint8_t *chunk_map(void) {
    size_t rounded = IRPA_URL_CHUNK, mapped = rounded + HUGE_PAGE;
    uint8_t *bytes = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (bytes == MAP_FAILED) return NULL;
    size_t head = (HUGE_PAGE - (uintptr_t)bytes % HUGE_PAGE) % HUGE_PAGE;
    if (head) munmap(bytes, head);
    munmap(bytes + head + rounded, mapped - head - rounded);
    madvise(bytes + head, rounded, MADV_HUGEPAGE);
    return bytes + head;
}

static void chunk_unmap(uint8_t *bytes) {
    if (bytes) munmap(bytes, IRPA_URL_CHUNK);
}

irpa_url_chunks *irpa_url_chunks_new(size_t slots) {
    irpa_url_chunks *chunks = calloc(1, sizeof *chunks + slots * sizeof(slot));
    if (!chunks) return NULL;
    chunks->count = slots;
    pthread_mutex_init(&chunks->mutex, NULL);
    pthread_cond_init(&chunks->settled, NULL);
    return chunks;
}

void irpa_url_chunks_free(irpa_url_chunks *chunks) {
    if (!chunks) return;
    for (size_t i = 0; i < chunks->count; i++)
        chunk_unmap(chunks->slots[i].bytes);
    pthread_cond_destroy(&chunks->settled);
    pthread_mutex_destroy(&chunks->mutex);
    free(chunks);
}

static uint64_t chunk_length(uint64_t size, uint64_t index) {
    uint64_t start = index * IRPA_URL_CHUNK;
    return size - start < IRPA_URL_CHUNK ? size - start : IRPA_URL_CHUNK;
}

static slot *find_slot(irpa_url_chunks *chunks, const void *owner, uint64_t index) {
    for (size_t i = 0; i < chunks->count; i++) {
        slot *candidate = &chunks->slots[i];
        if (candidate->state != SLOT_EMPTY && candidate->owner == owner &&
            candidate->index == index)
            return candidate;
    }
    return NULL;
}

/* Empties a slot; its mapping stays, spare, for the next chunk. */
static void empty_slot(slot *taken) {
    taken->state = SLOT_EMPTY;
    taken->owner = NULL;
    taken->emptied_ms = irpa_monotonic_ms();
}

/* The record of chunk `index` of `owner` read through, or NULL. */
static passed *find_passed(irpa_url_chunks *chunks, const void *owner, uint64_t index) {
    for (size_t i = 0; i < PASSED_RECORDS; i++)
        if (chunks->passed[i].owner == owner && chunks->passed[i].index == index)
            return &chunks->passed[i];
    return NULL;
}

/* Whether chunk `index` of `owner` is held, being fetched, or was read
 * through within PASSED_MS: a fetch ahead has nothing to do there. */
static bool known(irpa_url_chunks *chunks, const void *owner, uint64_t index) {
    if (find_slot(chunks, owner, index)) return true;
    const passed *record = find_passed(chunks, owner, index);
    return record && irpa_monotonic_ms() - record->at_ms < PASSED_MS;
}

/* A read is about to fetch chunk `index` again: drops its record. */
static void forget_passed(irpa_url_chunks *chunks, const void *owner, uint64_t index) {
    passed *record = find_passed(chunks, owner, index);
    if (record) record->owner = NULL;
}

/* Empties `held` if as many bytes as it holds were served and no reply
 * uses it, recording it as read through. */
static void leave_if_read(irpa_url_chunks *chunks, slot *held) {
    if (held->served < held->length || held->pins > 0) return;
    passed *record = find_passed(chunks, held->owner, held->index);  /* one per chunk */
    if (!record) {
        record = &chunks->passed[chunks->next_passed];
        chunks->next_passed = (chunks->next_passed + 1) % PASSED_RECORDS;
    }
    *record = (passed){.owner = held->owner, .index = held->index, .at_ms = irpa_monotonic_ms()};
    empty_slot(held);
}

/* Whether a ready chunk may make way for another: not pinned, and either
 * idle for CHUNK_IDLE_MS, or (for a read, not a fetch ahead) not read from
 * yet. A chunk a reader is going through stays: with more streams than
 * slots, the extra reads fetch just their own bytes rather than evict each
 * other's chunks at every read. */
#define CHUNK_IDLE_MS 1000

static bool may_take(const slot *candidate, bool ahead, int64_t now_ms) {
    if (candidate->state != SLOT_READY || candidate->pins > 0) return false;
    if (now_ms - candidate->used_ms >= CHUNK_IDLE_MS) return true;
    return !ahead && candidate->served == 0;
}

/* A slot for a new chunk: an empty one, else the least recently used one
 * that may make way (may_take). NULL when there is none. Under the mutex. */
static slot *take_slot(irpa_url_chunks *chunks, bool ahead) {
    slot *oldest = NULL;
    int64_t now_ms = irpa_monotonic_ms();
    for (size_t i = 0; i < chunks->count; i++) {
        slot *candidate = &chunks->slots[i];
        if (candidate->state == SLOT_EMPTY) return candidate;
        if (may_take(candidate, ahead, now_ms) && (!oldest || candidate->used < oldest->used))
            oldest = candidate;
    }
    if (oldest) empty_slot(oldest);
    return oldest;
}

/* Fetches chunk `index` into `taken` (FETCHING, claimed under the mutex,
 * which is held on entry and on return but not during the fetch). 0, or
 * -1 with errno set; either way its waiters are woken. */
static int fill_slot(irpa_url_chunks *chunks, slot *taken, void *owner, uint64_t size,
                     irpa_chunk_fetch fetch, uint64_t index) {
    uint64_t length = chunk_length(size, index);
    uint64_t number = ++chunks->fetches;
    *taken = (slot){.state = SLOT_FETCHING, .owner = owner, .index = index, .length = length,
                    .bytes = taken->bytes, .used = ++chunks->clock,
                    .used_ms = irpa_monotonic_ms(), .fetch = number,
                    .failed_fetch = taken->failed_fetch, .failed_errno = taken->failed_errno};
    pthread_mutex_unlock(&chunks->mutex);
    uint8_t *bytes = taken->bytes ? taken->bytes : chunk_map();
    int result = bytes ? fetch(owner, bytes, length, index * IRPA_URL_CHUNK) : -1;
    int error = bytes ? errno : ENOMEM;
    pthread_mutex_lock(&chunks->mutex);
    taken->bytes = bytes;
    if (result == 0) {
        taken->state = SLOT_READY;
        taken->used_ms = irpa_monotonic_ms();  /* idle from now, not from the fetch's start */
    } else {
        empty_slot(taken);
        taken->failed_fetch = number;
        taken->failed_errno = error;
    }
    pthread_cond_broadcast(&chunks->settled);
    errno = error;
    return result == 0 ? 0 : -1;
}

/* Copies object bytes [from, from + length) out of the ready chunk `held`;
 * the chunk leaves once as many bytes as it holds were served. Under the
 * mutex. */
static void copy_out(irpa_url_chunks *chunks, slot *held, void *out, uint64_t from,
                     uint64_t length) {
    memcpy(out, held->bytes + (from - held->index * IRPA_URL_CHUNK), (size_t)length);
    held->used = ++chunks->clock;
    held->used_ms = irpa_monotonic_ms();
    held->served += length;
    leave_if_read(chunks, held);
}

/* Waits until the fetch into `waited` ends; 0 when the caller should look
 * again, or -1 with errno set when that fetch failed. Under the mutex. */
static int wait_for_fetch(irpa_url_chunks *chunks, slot *waited) {
    uint64_t number = waited->fetch;
    while (waited->state == SLOT_FETCHING && waited->fetch == number)
        pthread_cond_wait(&chunks->settled, &chunks->mutex);
    if (waited->failed_fetch != number) return 0;
    errno = waited->failed_errno;
    return -1;
}

/* Copies object bytes [from, to) of chunk `index` into `out`. Under the
 * mutex on entry and return. 0, or -1 with errno set. */
static int read_from_chunk(irpa_url_chunks *chunks, void *owner, uint64_t size,
                           irpa_chunk_fetch fetch, uint8_t *out, uint64_t index, uint64_t from,
                           uint64_t to) {
    for (;;) {
        slot *held = find_slot(chunks, owner, index);
        if (held && held->state == SLOT_READY) {
            copy_out(chunks, held, out, from, to - from);
            return 0;
        }
        if (held) {
            if (wait_for_fetch(chunks, held) != 0) return -1;
            continue;
        }
        forget_passed(chunks, owner, index);
        slot *taken = take_slot(chunks, false);
        if (!taken) {  /* every slot is being fetched: read just these bytes */
            pthread_mutex_unlock(&chunks->mutex);
            int result = fetch(owner, out, to - from, from);
            int error = errno;
            pthread_mutex_lock(&chunks->mutex);
            errno = error;
            return result;
        }
        if (fill_slot(chunks, taken, owner, size, fetch, index) != 0) return -1;
    }
}

int irpa_url_chunks_read(irpa_url_chunks *chunks, void *owner, uint64_t size,
                         irpa_chunk_fetch fetch, void *buffer, uint64_t length, uint64_t offset) {
    int result = 0;
    pthread_mutex_lock(&chunks->mutex);
    for (uint64_t from = offset; from < offset + length && result == 0;) {
        uint64_t index = from / IRPA_URL_CHUNK;
        uint64_t chunk_end = index * IRPA_URL_CHUNK + chunk_length(size, index);
        uint64_t to = offset + length < chunk_end ? offset + length : chunk_end;
        result = read_from_chunk(chunks, owner, size, fetch, (uint8_t *)buffer + (from - offset),
                                 index, from, to);
        from = to;
    }
    int error = errno;
    pthread_mutex_unlock(&chunks->mutex);
    errno = error;
    return result;
}

/* The ready chunk that holds all of bytes [offset, offset + length), or
 * NULL (none, or they span two chunks). Under the mutex. */
static slot *ready_holding(irpa_url_chunks *chunks, const void *owner, uint64_t length,
                           uint64_t offset) {
    uint64_t index = offset / IRPA_URL_CHUNK;
    if (length == 0 || (offset + length - 1) / IRPA_URL_CHUNK != index) return NULL;
    slot *held = find_slot(chunks, owner, index);
    return held && held->state == SLOT_READY ? held : NULL;
}

bool irpa_url_chunks_copy_held(irpa_url_chunks *chunks, const void *owner, void *buffer,
                               uint64_t length, uint64_t offset) {
    pthread_mutex_lock(&chunks->mutex);
    slot *held = ready_holding(chunks, owner, length, offset);
    if (held) copy_out(chunks, held, buffer, offset, length);
    pthread_mutex_unlock(&chunks->mutex);
    return held != NULL;
}

void irpa_url_chunks_served(irpa_url_chunks *chunks, const void *owner, uint64_t size,
                            uint64_t offset, uint64_t length) {
    if (length == 0 || offset >= size) return;
    uint64_t end = offset + length < size ? offset + length : size;
    pthread_mutex_lock(&chunks->mutex);
    for (uint64_t index = offset / IRPA_URL_CHUNK; index * IRPA_URL_CHUNK < end; index++) {
        slot *held = find_slot(chunks, owner, index);
        if (!held || held->state != SLOT_READY) continue;  /* its fetcher reads it first */
        uint64_t start = index * IRPA_URL_CHUNK, stop = start + held->length;
        held->served += (end < stop ? end : stop) - (offset > start ? offset : start);
        leave_if_read(chunks, held);
    }
    pthread_mutex_unlock(&chunks->mutex);
}

bool irpa_url_chunks_covered(irpa_url_chunks *chunks, const void *owner, uint64_t size,
                             uint64_t offset, uint64_t length) {
    if (length == 0 || offset >= size) return true;
    uint64_t last = (offset + length - 1 < size ? offset + length - 1 : size - 1) / IRPA_URL_CHUNK;
    bool covered = true;
    pthread_mutex_lock(&chunks->mutex);
    for (uint64_t index = offset / IRPA_URL_CHUNK; index <= last && covered; index++)
        covered = known(chunks, owner, index);
    pthread_mutex_unlock(&chunks->mutex);
    return covered;
}

int irpa_url_chunks_fetch_ahead(irpa_url_chunks *chunks, void *owner, uint64_t size,
                                irpa_chunk_fetch fetch, uint64_t offset, uint64_t length) {
    if (length == 0 || offset >= size) return 0;
    uint64_t last = (offset + length - 1 < size ? offset + length - 1 : size - 1) / IRPA_URL_CHUNK;
    int result = 0;
    pthread_mutex_lock(&chunks->mutex);
    for (uint64_t index = offset / IRPA_URL_CHUNK; index <= last && result == 0; index++) {
        if (known(chunks, owner, index)) continue;
        slot *taken = take_slot(chunks, true);
        if (!taken) break;
        result = fill_slot(chunks, taken, owner, size, fetch, index);
    }
    int error = errno;
    pthread_mutex_unlock(&chunks->mutex);
    errno = error;
    return result;
}

/* Pins ready chunk `held` for a reply of bytes [offset, offset + length). Under the mutex. */
static void pin_ready(irpa_url_chunks *chunks, slot *held, uint64_t length, uint64_t offset,
                      const uint8_t **bytes, void **pin) {
    held->pins++;
    held->served += length;
    held->used = ++chunks->clock;
    held->used_ms = irpa_monotonic_ms();
    *bytes = held->bytes + (offset - held->index * IRPA_URL_CHUNK);
    *pin = held;
}

bool irpa_url_chunks_pin_held(irpa_url_chunks *chunks, const void *owner, uint64_t length,
                              uint64_t offset, const uint8_t **bytes, void **pin) {
    pthread_mutex_lock(&chunks->mutex);
    slot *held = ready_holding(chunks, owner, length, offset);
    if (held) pin_ready(chunks, held, length, offset, bytes, pin);
    pthread_mutex_unlock(&chunks->mutex);
    return held != NULL;
}

int irpa_url_chunks_pin(irpa_url_chunks *chunks, void *owner, uint64_t size, irpa_chunk_fetch fetch,
                        uint64_t length, uint64_t offset, const uint8_t **bytes, void **pin) {
    uint64_t index = offset / IRPA_URL_CHUNK;
    if (length == 0 || (offset + length - 1) / IRPA_URL_CHUNK != index) return 1;
    int result = 1;
    pthread_mutex_lock(&chunks->mutex);
    for (;;) {
        slot *held = find_slot(chunks, owner, index);
        if (held && held->state == SLOT_READY) {
            pin_ready(chunks, held, length, offset, bytes, pin);
            result = 0;
            break;
        }
        if (held) {
            if (wait_for_fetch(chunks, held) == 0) continue;
            result = -1;
            break;
        }
        forget_passed(chunks, owner, index);
        slot *taken = take_slot(chunks, false);
        if (!taken) break;  /* 1: the caller reads its bytes another way */
        if (fill_slot(chunks, taken, owner, size, fetch, index) != 0) {
            result = -1;
            break;
        }
    }
    int error = errno;
    pthread_mutex_unlock(&chunks->mutex);
    errno = error;
    return result;
}

void irpa_url_chunks_unpin(irpa_url_chunks *chunks, void *pin) {
    slot *held = pin;
    pthread_mutex_lock(&chunks->mutex);
    if (--held->pins == 0) {
        leave_if_read(chunks, held);
        pthread_cond_broadcast(&chunks->settled);
    }
    pthread_mutex_unlock(&chunks->mutex);
}

bool irpa_url_chunks_trim(irpa_url_chunks *chunks) {
    bool held = false;
    int64_t now_ms = irpa_monotonic_ms();
    pthread_mutex_lock(&chunks->mutex);
    for (size_t i = 0; i < chunks->count; i++) {
        slot *candidate = &chunks->slots[i];
        if (candidate->state == SLOT_READY && candidate->pins == 0 &&
            now_ms - candidate->used_ms >= FORGOTTEN_MS)
            empty_slot(candidate);
        if (candidate->state != SLOT_EMPTY) held = true;  /* fetching into new memory too */
        if (!candidate->bytes) continue;
        if (candidate->state == SLOT_EMPTY && now_ms - candidate->emptied_ms >= SPARE_MS) {
            chunk_unmap(candidate->bytes);
            candidate->bytes = NULL;
        } else {
            held = true;
        }
    }
    pthread_mutex_unlock(&chunks->mutex);
    return held;
}

void irpa_url_chunks_forget(irpa_url_chunks *chunks, const void *owner) {
    if (!chunks) return;
    pthread_mutex_lock(&chunks->mutex);
    for (size_t i = 0; i < chunks->count; i++) {
        slot *candidate = &chunks->slots[i];
        while (candidate->owner == owner &&
               (candidate->state == SLOT_FETCHING || candidate->pins > 0))
            pthread_cond_wait(&chunks->settled, &chunks->mutex);
        if (candidate->state == SLOT_READY && candidate->owner == owner) empty_slot(candidate);
    }
    for (size_t i = 0; i < PASSED_RECORDS; i++)  /* another source may get its address */
        if (chunks->passed[i].owner == owner) chunks->passed[i].owner = NULL;
    pthread_mutex_unlock(&chunks->mutex);
}
