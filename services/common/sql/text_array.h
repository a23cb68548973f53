#ifndef QUARRY_SERVICES_COMMON_SQL_TEXT_ARRAY_H_
#define QUARRY_SERVICES_COMMON_SQL_TEXT_ARRAY_H_

#include <string>
#include <vector>

namespace quarry::sql {

// A PostgreSQL text[] literal ({"a","b\"c"}) for passing a list as one
// statement parameter ($1::text[]): libpqxx 6 has no array parameters, and one
// parameter keeps the statement prepared-friendly and injection-free.
std::string TextArray(const std::vector<std::string>& values);

// Parses a text[] value as PostgreSQL prints it ({a,"b c",NULL}); NULL
// elements become empty strings.
std::vector<std::string> ParseTextArray(const std::string& literal);

}  // namespace quarry::sql

#endif  // QUARRY_SERVICES_COMMON_SQL_TEXT_ARRAY_H_
