package workspaces

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestCheckDownloadURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // "" when the URL may be downloaded, else a part of the verdict
	}{
		// Public addresses are accepted.
		{"https://huggingface.co/datasets/philschmid/dolly-15k-oai-style/resolve/main/train.parquet?download=true", ""},
		{"http://8.8.8.8/data.jsonl", ""},
		{"http://1.1.1.1:8080/data.jsonl", ""},
		{"https://[2606:4700:4700::1111]/data", ""},
		{"HTTPS://HuggingFace.co/data", ""},
		{"http://172.32.0.1/data", ""},                  // just above 172.16.0.0/12
		{"http://100.128.0.1/data", ""},                 // just above 100.64.0.0/10
		{"http://11.0.0.1/data", ""},                    // just above 10.0.0.0/8
		{"https://metadata-store.example.com/data", ""}, // not the metadata host
		{"https://storage.localhost.example.com/d", ""}, // not under .localhost
		{"https://127.0.0.1.example.com/data", ""},      // a DNS name: resolution is not checked here
		{"http://0x7f000001.example.com/data", ""},      // likewise
		{"https://my-account.blob.core.windows.net/d", ""},

		// Only http and https.
		{"ftp://huggingface.co/data", "only http and https URLs can be downloaded"},
		{"file:///etc/passwd", "only http and https"},
		{"gs://bucket/data", "only http and https"},
		{"huggingface.co/data", "only http and https"},
		{"https:///data", "has no host"},
		{"http://[::1/data", "is not a valid URL"},
		{"http://[::127.0.0.1]/data", "loopback, embedded in an IPv6 address"},
		{"http://[::ffff:0:7f00:1]/data", "loopback, embedded in an IPv6 address"},
		{"http://[64:ff9b::a9fe:a9fe]/data", "cloud metadata service, embedded in an IPv6 address"},
		{"http://[2002:7f00:1::]/data", "loopback, embedded in an IPv6 address"},
		{"http://[2002:0808:0808::]/data", ""},

		// Local and metadata host names.
		{"http://localhost/data", "points at a local or metadata host"},
		{"http://LOCALHOST./data", "points at a local or metadata host"},
		{"http://api.localhost:8080/data", "points at a local or metadata host"},
		{"http://metadata/computeMetadata/v1/", "points at a local or metadata host"},
		{"http://metadata.google.internal/computeMetadata/v1/", "points at a local or metadata host"},
		{"http://instance-data.ec2.internal/latest/", "points at a local or metadata host"},

		// Names that reach inside the cluster through its DNS.
		{"https://kubernetes.default.svc/api/v1/secrets", "names the cluster's API server"},
		{"https://kubernetes.default/api", "names the cluster's API server"},
		{"https://KUBERNETES.DEFAULT.SVC.CLUSTER.LOCAL./api", "names the cluster's API server"},
		{"https://kubernetes/api", "names the cluster's API server"},
		{"http://minio.storage.svc/data", "names a Service inside the cluster"},
		{"http://minio.storage.svc:9000/data", "names a Service inside the cluster"},
		{"http://minio.storage.svc.cluster.local/data", "names a Service inside the cluster"},
		{"http://10-0-0-5.default.pod.cluster.local/data", "names a name in the cluster's own DNS domain (cluster.local)"},
		{"http://minio/data", "names a host without a domain"},
		{"http://minio:9000/data", "names a host without a domain"},
		{"https://svc.example.com/data", ""},        // svc as a label of a public name
		{"https://cluster.local.example.com/d", ""}, // likewise
		{"https://kubernetes.io/docs", ""},

		// Loopback, private, shared, link-local and metadata addresses.
		{"http://127.0.0.1/data", "points at 127.0.0.1 (loopback)"},
		{"http://127.0.0.1:5000/v1/models", "(loopback)"},
		{"http://127.8.9.10/data", "(loopback)"},
		{"http://[::1]/data", "points at ::1 (loopback)"},
		{"http://10.0.0.5/data", "points at 10.0.0.5 (private network)"},
		{"http://172.16.0.1/data", "(private network)"},
		{"http://172.31.255.255/data", "(private network)"},
		{"http://192.168.1.10/data", "(private network)"},
		{"http://100.64.0.1/data", "points at 100.64.0.1 (private network)"},
		{"http://100.127.255.255/data", "(private network)"},
		{"http://[fc00::1]/data", "(private network)"},
		{"http://169.254.169.254/latest/meta-data/", "points at 169.254.169.254 (cloud metadata service)"},
		{"http://169.254.169.254./latest/meta-data/", "(cloud metadata service)"},
		{"http://[fd00:ec2::254]/latest/meta-data/", "points at fd00:ec2::254 (cloud metadata service)"},
		{"http://169.254.10.1/data", "(link-local)"},
		{"http://[fe80::1%25eth0]/data", "(link-local)"},
		{"http://0.0.0.0/data", "(unspecified address)"},
		{"http://[::]/data", "(unspecified address)"},
		{"http://224.0.0.1/data", "(link-local)"}, // 224.0.0.0/24 is link-local multicast
		{"http://239.1.2.3/data", "(multicast or broadcast)"},
		{"http://255.255.255.255/data", "(multicast or broadcast)"},

		// IPv4-mapped IPv6.
		{"http://[::ffff:127.0.0.1]/data", "points at 127.0.0.1 (loopback)"},
		{"http://[::ffff:169.254.169.254]/latest/", "points at 169.254.169.254 (cloud metadata service)"},
		{"http://[::ffff:a9fe:a9fe]/latest/", "(cloud metadata service)"},
		{"http://[::ffff:10.1.2.3]/data", "(private network)"},

		// Forms curl and browsers read as addresses though net.ParseIP does not.
		{"http://2130706433/data", "points at 127.0.0.1 (loopback)"},
		{"http://0x7f000001/data", "points at 127.0.0.1 (loopback)"},
		{"http://0X7F000001/data", "points at 127.0.0.1 (loopback)"},
		{"http://0177.0.0.1/data", "points at 127.0.0.1 (loopback)"},
		{"http://0x7f.0.0.1/data", "points at 127.0.0.1 (loopback)"},
		{"http://127.1/data", "points at 127.0.0.1 (loopback)"},
		{"http://127.0.1/data", "points at 127.0.0.1 (loopback)"},
		{"http://0/data", "points at 0.0.0.0 (unspecified address)"},
		{"http://2852039166/latest/", "points at 169.254.169.254 (cloud metadata service)"},
		{"http://0xa9fea9fe/latest/", "points at 169.254.169.254"},
		{"http://0251.0376.0251.0376/latest/", "points at 169.254.169.254"},
		{"http://169.254.43518/latest/", "points at 169.254.169.254"},
		{"http://012.1.2.3/data", "points at 10.1.2.3 (private network)"},
		{"http://%31%32%37.0.0.1/data", "is not a valid URL"}, // Go refuses escapes in a host name

		// Credentials in the URL are refused, and not echoed back.
		{"https://user:s3cret@huggingface.co/data", `"https://REDACTED@huggingface.co/data" carries credentials in the URL`},
		{"https://hf_abcdef@huggingface.co/data", "https://REDACTED@huggingface.co/data"},
		{"https://huggingface.co@127.0.0.1/data", "carries credentials"},

		// Placeholders.
		{"https://<your-storage-account>.blob.core.windows.net/data", `"<your-storage-account>" is a placeholder`},
		{"https://YOUR_BUCKET.s3.amazonaws.com/data", `"YOUR_BUCKET" is a placeholder`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			is := is.New(t)
			got := checkDownloadURL(tt.url)
			if tt.want == "" {
				is.Equal(got, "") // accepted
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Logf("got %q, want it to contain %q", got, tt.want)
			}
			is.True(strings.Contains(got, tt.want))
			is.True(!strings.Contains(got, "s3cret") && !strings.Contains(got, "hf_abcdef")) // credentials are redacted
		})
	}
}

func TestParseHostIP(t *testing.T) {
	tests := []struct {
		host string
		want string // "" when host is not an address
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"10.1", "10.0.0.1"},
		{"192.168.257", "192.168.1.1"},
		{"[::1]", "::1"},
		{"::ffff:127.0.0.1", "127.0.0.1"},
		{"4294967295", "255.255.255.255"},
		{"4294967296", ""}, // more than 32 bits
		{"256.0.0.1", ""},  // a leading part above 255
		{"1.2.3.4.5", ""},  // too many parts
		{"1..2", ""},
		{"08.0.0.1", ""}, // 8 is not an octal digit
		{"0xg1", ""},
		{"huggingface.co", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			is := is.New(t)
			addr, ok := parseHostIP(tt.host)
			is.Equal(ok, tt.want != "")
			if ok {
				is.Equal(addr.String(), tt.want)
			}
		})
	}
}

func TestCheckImage(t *testing.T) {
	digest := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		image string
		want  string // "" when valid, else a part of the verdict
	}{
		{"nginx", ""},
		{"nginx:1.25", ""},
		{"nginx:latest", ""},
		{"library/nginx", ""},
		{"docker.io/library/nginx:1.25", ""},
		{"myregistry.azurecr.io/adapter-phi3:0.0.1", ""},
		{"mcr.microsoft.com/aks/kaito/kaito-phi-3-mini-4k-instruct:0.0.3", ""},
		{"localhost:5000/a/b:c", ""},
		{"registry.example.com:443/team/app_v2:v1.0.0-rc.1", ""},
		{"a/b__c/d.e-f:tag", ""},
		{"repo@sha256:" + digest, ""},
		{"myregistry.azurecr.io/adapter:0.0.1@sha256:" + digest, ""},

		{"", "an image reference is required"},
		{"Nginx:1.25", `"Nginx:1.25" is not a valid image reference`},
		{"myregistry.azurecr.io/Adapter-Phi3:0.0.1", "is not a valid image reference"},
		{"nginx :1.25", "is not a valid image reference"},
		{"my registry/nginx", "is not a valid image reference"},
		{" nginx", "is not a valid image reference"},
		{"nginx:", "is not a valid image reference"},
		{"nginx:-1", "is not a valid image reference"},
		{"nginx:" + strings.Repeat("a", 129), "is not a valid image reference"},
		{":1.25", "is not a valid image reference"},
		{"/nginx", "is not a valid image reference"},
		{"a//b", "is not a valid image reference"},
		{"repo@sha256:abc", "is not a valid image reference"},
		{"repo@sha256:" + strings.Repeat("a", 40), "has a sha256 digest of 40 hex digits; it must have 64"},
		{"repo@" + digest, "is not a valid image reference"},
		{"https://myregistry.azurecr.io/adapter:1", "is not a valid image reference"},
		{strings.Repeat("a", 4097), "is not a valid image reference"},
		{"ACR_REPO_HERE.azurecr.io/ADAPTER_HERE:0.0.1", `"ACR_REPO_HERE" is a placeholder copied from the docs: replace it with your own value (an image reference such as myregistry.azurecr.io/adapter-phi3:0.0.1)`},
		{"<your-registry>/phi-3:0.0.1", `"<your-registry>" is a placeholder`},
	}
	for _, tt := range tests {
		name := tt.image
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			got := checkImage(tt.image)
			if tt.want == "" {
				is.Equal(got, "") // valid
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Logf("got %q, want it to contain %q", got, tt.want)
			}
			is.True(strings.Contains(got, tt.want))
		})
	}
}

// TestDataImageShape: Kaito accepts an adapter or tuning image without a registry or a tag (it reads
// them as Docker Hub's library and :latest); kaito-sync warns, since that is rarely meant.
func TestDataImageShape(t *testing.T) {
	tests := []struct {
		image string
		want  string
	}{
		{"myregistry.azurecr.io/adapter-phi3:0.0.1", ""},
		{"localhost:5000/adapters/phi3:1", ""},
		{"team/adapter:1", ""},
		{"myregistry.azurecr.io/adapter@sha256:" + strings.Repeat("a", 64), ""},
		{"adapter-phi3:0.0.1", `"adapter-phi3:0.0.1" has no registry, so Kaito reads it as docker.io/library/adapter-phi3:0.0.1`},
		{"adapter", "has no registry"},
		{"myregistry.azurecr.io/adapter-phi3", `"myregistry.azurecr.io/adapter-phi3" has no tag, so it means myregistry.azurecr.io/adapter-phi3:latest`},
		{"localhost:5000/adapter", "has no tag"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			is := is.New(t)
			got := dataImageShape(tt.image)
			if tt.want == "" {
				is.Equal(got, "")
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Logf("got %q, want it to contain %q", got, tt.want)
			}
			is.True(strings.Contains(got, tt.want))
		})
	}
}

func TestPlaceholder(t *testing.T) {
	tests := []struct {
		value string
		want  string // the placeholder found, "" for none
	}{
		// The forms in Kaito's examples.
		{"<your-vm-sku>", "<your-vm-sku>"},
		{"<base64-encoded-huggingface-token>", "<base64-encoded-huggingface-token>"},
		{"ACR_REPO_HERE.azurecr.io/ADAPTER_HERE:0.0.1", "ACR_REPO_HERE"},
		{"myregistry.azurecr.io/ADAPTER_HERE:0.0.1", "ADAPTER_HERE"},
		{"Standard_<your-vm-sku>", "<your-vm-sku>"},
		{"--model=<model-id>", "<model-id>"},
		{"YOUR_REGISTRY.azurecr.io/phi-3:0.0.1", "YOUR_REGISTRY"},
		{"YOUR-ACCOUNT", "YOUR-ACCOUNT"},
		{"REPLACE_ME", "REPLACE_ME"},
		{"replace-me", "replace-me"},
		{"changeme", "changeme"},
		{"ChangeMe", "ChangeMe"},

		// Real values.
		{"", ""},
		{"Standard_NC24ads_A100_v4", ""},
		{"phi-3-mini-4k-instruct", ""},
		{"myregistry.azurecr.io/adapter-phi3:0.0.1", ""},
		{"hf-token", ""},
		{"https://huggingface.co/datasets/x/resolve/main/train.parquet?download=true", ""},
		{"THERE", ""},
		{"NOWHERE", ""},
		{"HERE", ""},
		{"a < b", ""},
		{"x <= y and y >= z", ""},
		{"<>", ""},
		{"YOURS", ""},
		{"MY_YOUR_THING", ""},
		{"home", ""},
		{"name", ""},
		{"meme", ""},
		{"exchange-members", ""},
		{"replacement", ""},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			is := is.New(t)
			is.Equal(placeholder(tt.value), tt.want)
		})
	}
	is := is.New(t)
	is.Equal(placeholderMessage("<your-vm-sku>"), `"<your-vm-sku>" is a placeholder copied from the docs: replace it with your own value`)
}
