#ifndef BROKER_CCRC32C_H
#define BROKER_CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli). `crc` is the running value: start with 0 and pass the
/// previous result to continue over more bytes (pre/post inversion is internal).
uint32_t broker_crc32c(uint32_t crc, const void *data, size_t length);

/// The portable table-driven implementation, always available.
uint32_t broker_crc32c_software(uint32_t crc, const void *data, size_t length);

/// The CPU-instruction implementation (SSE4.2 on x86-64, the CRC extension on
/// arm64). Only call it when broker_crc32c_hardware_available() returns 1.
uint32_t broker_crc32c_hardware(uint32_t crc, const void *data, size_t length);

/// 1 when this CPU has CRC-32C instructions, 0 otherwise.
int broker_crc32c_hardware_available(void);

#endif
