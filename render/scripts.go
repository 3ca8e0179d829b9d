package render

import (
	_ "embed"
	"strings"
)

// The scripts and default tuning configs Kaito v0.12.0 puts into pods, byte for byte (kaito/README.md).
var (
	//go:embed kaito/puller.sh
	pullerScript string
	//go:embed kaito/pusher.sh
	pusherScript string
	//go:embed kaito/data-downloader.sh
	dataDownloaderScript string
	//go:embed kaito/lora-params.yaml
	loraParams string
	//go:embed kaito/qlora-params.yaml
	qloraParams string
)

// pullerArgs is the script of an init container that pulls image into dir. The values land in
// single-quoted shell strings: validated image references and fixed paths hold no quote.
func pullerArgs(image, dir string) string {
	return strings.NewReplacer("@IMG_REF@", normalizeImage(image), "@VOL_DIR@", dir).Replace(pullerScript)
}

// pusherArgs is the script of the sidecar that waits for the trainer's completion marker in dir and
// pushes the adapter found there as image, annotated with annotations (JSON).
func pusherArgs(dir, image, annotations string) string {
	return strings.NewReplacer("@VOL_DIR@", dir, "@IMG_REF@", normalizeImage(image),
		"@ANNOTATIONS@", annotations, "@SENTINEL@", dir+"/fine_tuning_completed.txt").Replace(pusherScript)
}

// normalizeImage spells an image reference in full, as Docker's reference library does for Kaito:
// a registry (docker.io when the first segment is not a host), library/ for an official image, and
// :latest when there is neither a tag nor a digest; a digest drops the tag.
func normalizeImage(ref string) string {
	name, digest, hasDigest := strings.Cut(ref, "@")
	tag := ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		if !strings.Contains(name, "/") {
			name = "library/" + name
		}
		name = "docker.io/" + name
	}
	switch {
	case hasDigest:
		return name + "@" + digest
	case tag != "":
		return name + ":" + tag
	}
	return name + ":latest"
}
