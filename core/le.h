/* le.h: little-endian integers in byte buffers.
 *
 * IRPA, GGUF and safetensors store every integer little-endian; these read
 * and write them at any alignment, whatever the host's byte order. */
#ifndef IRPA_LE_H
#define IRPA_LE_H

#include <stdint.h>

static inline uint16_t irpa_le16(const uint8_t *at) { return (uint16_t)(at[0] | at[1] << 8); }

static inline uint32_t irpa_le32(const uint8_t *at) {
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static inline uint64_t irpa_le64(const uint8_t *at) {
    return (uint64_t)irpa_le32(at) | (uint64_t)irpa_le32(at + 4) << 32;
}

static inline void irpa_put_le16(uint8_t *at, uint16_t value) {
    at[0] = (uint8_t)value;
    at[1] = (uint8_t)(value >> 8);
}

static inline void irpa_put_le32(uint8_t *at, uint32_t value) {
    irpa_put_le16(at, (uint16_t)value);
    irpa_put_le16(at + 2, (uint16_t)(value >> 16));
}

static inline void irpa_put_le64(uint8_t *at, uint64_t value) {
    irpa_put_le32(at, (uint32_t)value);
    irpa_put_le32(at + 4, (uint32_t)(value >> 32));
}

#endif
