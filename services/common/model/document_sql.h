#ifndef QUARRY_SERVICES_COMMON_MODEL_DOCUMENT_SQL_H_
#define QUARRY_SERVICES_COMMON_MODEL_DOCUMENT_SQL_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace quarry::model {

// SQL fragments that several services must agree on word for word.

// A live document without a vector for its current text (see
// documents.embedded_hash): the worker indexes these, the gateway reports
// them as pending. Spelled as the predicate of the partial index
// documents_unembedded_idx (migrations/0001_initial.sql), so PostgreSQL can
// answer with that index; pg/schema_test.cc keeps the two equal. `table` is
// the alias the query gives documents, empty for none.
inline std::string PendingDocumentSql(absl::string_view table = "") {
  const std::string p = table.empty() ? "" : absl::StrCat(table, ".");
  return absl::StrCat("NOT ", p, "deleted AND ", p, "embedded_hash IS DISTINCT FROM ", p,
                      "content_hash");
}

// A live document whose vector is for its current text: searchable.
inline std::string IndexedDocumentSql(absl::string_view table = "") {
  const std::string p = table.empty() ? "" : absl::StrCat(table, ".");
  return absl::StrCat("NOT ", p, "deleted AND ", p, "embedded_hash IS NOT DISTINCT FROM ", p,
                      "content_hash");
}

// A tenant's live collection by name: `columns` of the row, with $1 the
// tenant id and $2 the name. A deleted collection's name may be reused, so
// the lookup must skip deleted rows.
inline std::string LiveCollectionByNameSql(absl::string_view columns) {
  return absl::StrCat("SELECT ", columns,
                      " FROM collections"
                      " WHERE tenant_id = $1 AND name = $2 AND deleted_at IS NULL");
}

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_DOCUMENT_SQL_H_
