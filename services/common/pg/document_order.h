#ifndef QUARRY_SERVICES_COMMON_PG_DOCUMENT_ORDER_H_
#define QUARRY_SERVICES_COMMON_PG_DOCUMENT_ORDER_H_

#include <cstdint>

#include <pqxx/pqxx>

namespace quarry::pg {

// Transaction advisory lock the documents trigger takes before assigning seq
// (see migrations/0001_initial.sql): it serializes document writers so that
// commit order equals seq order.
inline constexpr int64_t kDocumentSeqLockKey = 7291748335610001;

// Takes the document-order lock in `txn` (held until it ends). Every
// transaction that writes or deletes document rows calls this before its
// first such statement. The trigger alone takes the lock only after the
// statement has locked its first row, so two multi-row writers (a
// collection's tombstoning and the worker's embedding write, say) could each
// hold a row the other needs, one of them waiting on the lock: a deadlock
// that PostgreSQL breaks by aborting one. Taken first, the lock orders them.
// Re-taking it in the same transaction (as the trigger does) is free.
void LockDocumentOrder(pqxx::work& txn);

}  // namespace quarry::pg

#endif  // QUARRY_SERVICES_COMMON_PG_DOCUMENT_ORDER_H_
