#include "services/embedding/validation.h"

#include "absl/strings/str_cat.h"
#include "services/embedding/unicode.h"

namespace quarry::embedding {

absl::Status ValidateTexts(absl::Span<const absl::string_view> texts) {
  if (texts.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("texts must hold 1 to ", kMaxTextsPerRequest, " texts, got 0"));
  }
  if (texts.size() > kMaxTextsPerRequest) {
    return absl::InvalidArgumentError(absl::StrCat("texts must hold 1 to ", kMaxTextsPerRequest,
                                                   " texts, got ", texts.size()));
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    const absl::string_view text = texts[i];
    if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("texts[", i, "]: empty"));
    if (text.size() > kMaxTextBytes) {
      return absl::InvalidArgumentError(absl::StrCat("texts[", i, "]: ", text.size(),
                                                     " bytes exceeds the limit of ",
                                                     kMaxTextBytes));
    }
    const std::ptrdiff_t bad = unicode::FindInvalidUtf8(text);
    if (bad >= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("texts[", i, "]: invalid UTF-8 at byte ", bad));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckModel(const ModelInfo& info, absl::string_view requested_model,
                        uint32_t expected_dimension) {
  if (!requested_model.empty() && requested_model != info.name) {
    return absl::FailedPreconditionError(absl::StrCat("model \"", requested_model,
                                                      "\" requested, but this replica serves \"",
                                                      info.name, "\""));
  }
  if (expected_dimension != 0 && expected_dimension != info.dimension) {
    return absl::FailedPreconditionError(absl::StrCat(
        "dimension ", expected_dimension, " expected, but model \"", info.name, "\" has dimension ",
        info.dimension));
  }
  return absl::OkStatus();
}

absl::Status CheckVectorDimension(absl::string_view model, uint32_t dimension,
                                  size_t vector_size) {
  if (vector_size != dimension) {
    return absl::FailedPreconditionError(absl::StrCat("vector has dimension ", vector_size,
                                                      ", but the collection's model \"", model,
                                                      "\" has dimension ", dimension));
  }
  return absl::OkStatus();
}

}  // namespace quarry::embedding
