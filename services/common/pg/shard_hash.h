#ifndef QUARRY_SERVICES_COMMON_PG_SHARD_HASH_H_
#define QUARRY_SERVICES_COMMON_PG_SHARD_HASH_H_

#include <cstdint>
#include <string_view>

namespace quarry::pg {

// The shard hash of a document, identical to the generated column
// documents.shard_hash: the first 4 bytes of
// MD5(decimal(collection_id) + ":" + doc_id) read as a big-endian integer,
// with the sign bit cleared (so it fits PostgreSQL's signed integer). doc_id
// is hashed as the raw bytes given (UTF-8, like the database).
uint32_t ShardHash(int64_t collection_id, std::string_view doc_id);

// The shard in [0, shard_count) that owns the document: ShardHash % count.
// shard_count must be > 0 (0 is treated as 1).
uint32_t ShardOf(int64_t collection_id, std::string_view doc_id,
                 uint32_t shard_count);

}  // namespace quarry::pg

#endif  // QUARRY_SERVICES_COMMON_PG_SHARD_HASH_H_
