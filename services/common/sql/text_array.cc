#include "services/common/sql/text_array.h"

namespace quarry::sql {

std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::vector<std::string> ParseTextArray(const std::string& literal) {
  std::vector<std::string> values;
  if (literal.size() < 2 || literal.front() != '{' || literal.back() != '}') return values;
  const std::string body = literal.substr(1, literal.size() - 2);
  if (body.empty()) return values;
  std::string current;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (quoted) {
      if (c == '\\' && i + 1 < body.size()) {
        current.push_back(body[++i]);
      } else if (c == '"') {
        quoted = false;
      } else {
        current.push_back(c);
      }
    } else if (c == '"') {
      quoted = was_quoted = true;
    } else if (c == ',') {
      values.push_back(!was_quoted && current == "NULL" ? std::string() : current);
      current.clear();
      was_quoted = false;
    } else {
      current.push_back(c);
    }
  }
  values.push_back(!was_quoted && current == "NULL" ? std::string() : current);
  return values;
}

}  // namespace quarry::sql
