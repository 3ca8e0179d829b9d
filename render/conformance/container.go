package conformance

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// projectContainer covers what a container runs and with what: image, command, environment,
// ports, probes, resources and mounts. volumes describes the pod's volumes by name, so a mount
// compares by what it mounts rather than by the volume's name alone.
func projectContainer(w writer, c *corev1.Container, volumes map[string]string) error {
	w.set("image", c.Image)
	w.set("imagePullPolicy", string(or(c.ImagePullPolicy, defaultPullPolicy(c.Image))))
	if err := setCommand(w, "command", c.Command, c.Args); err != nil {
		return err
	}
	if c.WorkingDir != "" {
		w.set("workingDir", c.WorkingDir)
	}
	// env is a map: a later entry of one name wins in the kubelet, as it does here.
	for _, e := range c.Env {
		w.set("env "+e.Name, envValue(e))
	}
	if len(c.EnvFrom) > 0 {
		w.set("envFrom", compact(c.EnvFrom)) // ordered: a later source wins
	}
	var ports []string
	for _, p := range c.Ports {
		d := fmt.Sprintf("%s %d/%s", p.Name, p.ContainerPort, or(p.Protocol, corev1.ProtocolTCP))
		if p.HostPort != 0 {
			d += fmt.Sprintf(" host %d", p.HostPort)
		}
		ports = append(ports, d)
	}
	w.set("ports", set(ports))
	for _, p := range []struct {
		kind  string
		probe *corev1.Probe
	}{{"liveness", c.LivenessProbe}, {"readiness", c.ReadinessProbe}, {"startup", c.StartupProbe}} {
		if err := projectProbe(w.sub("probe "+p.kind), p.probe, c); err != nil {
			return fmt.Errorf("%s probe: %w", p.kind, err)
		}
	}
	projectResources(w, c.Resources)
	for _, m := range c.VolumeMounts {
		w.set("mount "+m.MountPath, mount(m, volumes))
	}
	return nil
}

// setCommand sets field to the words of command and args (see commandWords). A multi-line
// script goes to a field of its own ("command script"), where Diff can point at the line that
// differs; the word list holds "<script>" in its place.
func setCommand(w writer, field string, command, args []string) error {
	words, err := commandWords(command, args)
	if err != nil {
		return err
	}
	for i, word := range words {
		if strings.Contains(word, "\n") {
			name := field + " script"
			if i > 2 { // not the usual sh -c place: name it by position
				name += " " + strconv.Itoa(i)
			}
			w.set(name, word)
			words[i] = "<script>"
		}
	}
	w.set(field, list(words))
	return nil
}

// envValue is a literal value as a JSON string, a reference (Secret, field, ...) as its JSON
// object, so the two never compare equal.
func envValue(e corev1.EnvVar) string {
	if e.ValueFrom != nil {
		return compact(e.ValueFrom)
	}
	return compact(e.Value)
}

// projectProbe covers the probe's check and timing. Unset timings take the API's defaults, so a
// renderer that spells a default out matches Kaito leaving it unset.
func projectProbe(w writer, p *corev1.Probe, c *corev1.Container) error {
	if p == nil {
		return nil
	}
	switch h := p.ProbeHandler; {
	case h.Exec != nil:
		if err := setCommand(w, "exec", h.Exec.Command, nil); err != nil {
			return err
		}
	case h.HTTPGet != nil:
		d := fmt.Sprintf("path=%s port=%s scheme=%s", h.HTTPGet.Path, port(h.HTTPGet.Port, c), or(h.HTTPGet.Scheme, corev1.URISchemeHTTP))
		if h.HTTPGet.Host != "" {
			d += " host=" + h.HTTPGet.Host
		}
		if len(h.HTTPGet.HTTPHeaders) > 0 {
			d += " headers=" + compact(h.HTTPGet.HTTPHeaders)
		}
		w.set("httpGet", d)
	case h.TCPSocket != nil:
		d := "port=" + port(h.TCPSocket.Port, c)
		if h.TCPSocket.Host != "" {
			d += " host=" + h.TCPSocket.Host
		}
		w.set("tcpSocket", d)
	case h.GRPC != nil:
		w.set("grpc", fmt.Sprintf("port=%d service=%s", h.GRPC.Port, orPtr(h.GRPC.Service, "")))
	}
	w.set("initialDelaySeconds", strconv.Itoa(int(p.InitialDelaySeconds)))
	w.set("periodSeconds", strconv.Itoa(int(or(p.PeriodSeconds, 10))))
	w.set("timeoutSeconds", strconv.Itoa(int(or(p.TimeoutSeconds, 1))))
	w.set("failureThreshold", strconv.Itoa(int(or(p.FailureThreshold, 3))))
	w.set("successThreshold", strconv.Itoa(int(or(p.SuccessThreshold, 1))))
	if p.TerminationGracePeriodSeconds != nil { // unset means the pod's own, which is not a number here
		w.set("terminationGracePeriodSeconds", strconv.FormatInt(*p.TerminationGracePeriodSeconds, 10))
	}
	return nil
}

// port is a probe's port as a number: a port named after one of the container's ports is that
// port's number, so "http" and 5000 compare equal when the container names 5000 "http".
func port(p intstr.IntOrString, c *corev1.Container) string {
	if p.Type == intstr.String {
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return strconv.Itoa(int(cp.ContainerPort))
			}
		}
	}
	return p.String()
}

// projectResources covers limits and requests. A request left unset where a limit is set
// defaults to the limit, as the API server does, so {limits: gpu 1} equals {limits and requests:
// gpu 1}.
func projectResources(w writer, r corev1.ResourceRequirements) {
	for name, q := range r.Limits {
		w.set("limits "+string(name), quantity(q))
		if _, ok := r.Requests[name]; !ok {
			w.set("requests "+string(name), quantity(q))
		}
	}
	for name, q := range r.Requests {
		w.set("requests "+string(name), quantity(q))
	}
}

// quantity is q in canonical form: "1", "1.0" and "1000m" are all "1".
func quantity(q resource.Quantity) string {
	number, suffix := q.CanonicalizeBytes(nil)
	return string(number) + string(suffix)
}

// mount is what a volume mount puts at its path: the volume's kind and source, not its name (the
// volumes are compared by name on their own), and how.
func mount(m corev1.VolumeMount, volumes map[string]string) string {
	d, ok := volumes[m.Name]
	if !ok {
		d = "<no volume " + m.Name + ">"
	}
	if m.SubPath != "" {
		d += " subPath=" + m.SubPath
	}
	if m.ReadOnly {
		d += " readOnly"
	}
	return d
}

// defaultPullPolicy is the API server's default: Always for an untagged or :latest image,
// IfNotPresent otherwise.
func defaultPullPolicy(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent
	}
	name := image[strings.LastIndex(image, "/")+1:]
	if i := strings.LastIndex(name, ":"); i < 0 || name[i+1:] == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}
