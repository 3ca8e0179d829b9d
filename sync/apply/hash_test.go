package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// hashByDeepCopy is how Hash was computed before it stopped deep-copying: hashes written by
// earlier versions on live objects must still match.
func hashByDeepCopy(u *unstructured.Unstructured) string {
	c := u.DeepCopy()
	ann := c.GetAnnotations()
	delete(ann, ownership.AnnotationHash)
	for _, a := range ownership.VolatileAnnotations {
		delete(ann, a)
	}
	if len(ann) == 0 {
		ann = nil
	}
	c.SetAnnotations(ann)
	b, _ := json.Marshal(c.Object)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func TestHashIsStableAcrossVersions(t *testing.T) {
	is := is.New(t)
	for _, doc := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\ndata: {k: v}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n, annotations: {kaito.sh/applied-hash: x, kaito-sync/source-commit: c}}\ndata: {k: v}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n, labels: {l: v}, annotations: {kaito.sh/recreate-key: k, kaito-sync/source-path: p}}\n",
	} {
		u := obj(t, doc)
		before := u.DeepCopy()
		is.Equal(Hash(u), hashByDeepCopy(u))
		is.Equal(u, before) // Hash changes nothing
	}
}
