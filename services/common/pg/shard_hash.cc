#include "services/common/pg/shard_hash.h"

#include <openssl/evp.h>

#include <string>

namespace quarry::pg {

uint32_t ShardHash(int64_t collection_id, std::string_view doc_id) {
  std::string input = std::to_string(collection_id);
  input.push_back(':');
  input.append(doc_id);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // MD5 is not used for security here, only as a hash SQL can compute too.
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_md5(), nullptr);
  const uint32_t first = (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) |
                         (uint32_t{digest[2]} << 8) | uint32_t{digest[3]};
  return first & 0x7fffffffu;
}

uint32_t ShardOf(int64_t collection_id, std::string_view doc_id,
                 uint32_t shard_count) {
  if (shard_count == 0) shard_count = 1;
  return ShardHash(collection_id, doc_id) % shard_count;
}

}  // namespace quarry::pg
