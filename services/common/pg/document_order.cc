#include "services/common/pg/document_order.h"

namespace quarry::pg {

void LockDocumentOrder(pqxx::work& txn) {
  txn.exec_params("SELECT pg_advisory_xact_lock($1)", kDocumentSeqLockKey);
}

}  // namespace quarry::pg
