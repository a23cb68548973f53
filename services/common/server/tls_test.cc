// TLS on the public port and mutual TLS between services, with certificates
// made by openssl for the test (a CA, a server certificate for localhost, a
// client certificate).
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "quarry/embedding/v1/embedding_service.grpc.pb.h"
#include "services/common/client/channel.h"
#include "services/common/server/server.h"

namespace quarry::server {
namespace {

class ModelInfoService final : public quarry::embedding::v1::EmbeddingService::Service {
  grpc::Status GetModelInfo(grpc::ServerContext*, const quarry::embedding::v1::GetModelInfoRequest*,
                            quarry::embedding::v1::GetModelInfoResponse* response) override {
    response->set_name("tls-ok");
    return grpc::Status::OK;
  }
};

std::string Dir() { return std::getenv("TEST_TMPDIR"); }

std::string Read(const std::string& name) {
  std::ifstream in(Dir() + "/" + name);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string d = Dir();
    const std::string script = absl::StrCat(
        "set -e; cd ", d, "; ",
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=quarry-test-ca "
        "-keyout ca.key -out ca.pem 2>/dev/null; ",
        "for who in server client; do ",
        "openssl req -newkey rsa:2048 -nodes -subj /CN=$who -keyout $who.key -out $who.csr "
        "2>/dev/null; done; ",
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext; ",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile san.ext -out server.pem 2>/dev/null; ",
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-out client.pem 2>/dev/null");
    ASSERT_EQ(std::system(script.c_str()), 0) << "openssl failed";
  }

  std::unique_ptr<Server> Start(bool require_client_cert) {
    ServerOptions options;
    options.service_name = "tls";
    options.host = "127.0.0.1";
    options.tls_cert_file = Dir() + "/server.pem";
    options.tls_key_file = Dir() + "/server.key";
    if (require_client_cert) options.tls_client_ca_file = Dir() + "/ca.pem";
    auto server = Server::Start(options, {&service_});
    EXPECT_TRUE(server.ok()) << server.status();
    return std::move(*server);
  }

  grpc::Status Call(const Server& server, std::shared_ptr<grpc::ChannelCredentials> credentials) {
    client::ChannelOptions options;
    options.health_checked_round_robin = false;
    options.credentials = std::move(credentials);
    auto channel =
        client::NewInternalChannel(absl::StrCat("localhost:", server.port()), std::move(options));
    auto stub = quarry::embedding::v1::EmbeddingService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    quarry::embedding::v1::GetModelInfoResponse response;
    grpc::Status status = stub->GetModelInfo(&context, {}, &response);
    if (status.ok()) {
      EXPECT_EQ(response.name(), "tls-ok");
    }
    return status;
  }

  ModelInfoService service_;
};

TEST_F(TlsTest, TlsOnThePublicPortVerifiesTheServer) {
  auto server = Start(/*require_client_cert=*/false);
  EXPECT_TRUE(Call(*server, client::TlsChannelCredentials(Read("ca.pem"), "", "")).ok());
  EXPECT_FALSE(Call(*server, grpc::InsecureChannelCredentials()).ok());
}

TEST_F(TlsTest, MutualTlsRejectsClientsWithoutACertificate) {
  auto server = Start(/*require_client_cert=*/true);
  EXPECT_TRUE(Call(*server, client::TlsChannelCredentials(Read("ca.pem"), Read("client.pem"),
                                                          Read("client.key")))
                  .ok());
  EXPECT_FALSE(Call(*server, client::TlsChannelCredentials(Read("ca.pem"), "", "")).ok());
  EXPECT_FALSE(Call(*server, grpc::InsecureChannelCredentials()).ok());
}

TEST_F(TlsTest, MissingOrBadFilesAreStartupErrorsNamingTheFlag) {
  ServerOptions options;
  options.service_name = "tls";
  options.host = "127.0.0.1";
  options.tls_cert_file = Dir() + "/no-such.pem";
  options.tls_key_file = Dir() + "/server.key";
  auto server = Server::Start(options, {&service_});
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("--tls_cert"), std::string::npos) << server.status();
  options.tls_cert_file = Dir() + "/server.pem";
  options.tls_key_file = "";
  EXPECT_NE(Server::Start(options, {&service_}).status().message().find("--tls_key"),
            std::string::npos);
}

}  // namespace
}  // namespace quarry::server
