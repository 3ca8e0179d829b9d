package branch

import (
	"bytes"
	"encoding/json"
	"strconv"

	yaml "go.yaml.in/yaml/v2"
)

// marshalYAML writes v as sigs.k8s.io/yaml.Marshal does (its JSON form, keys sorted, numbers as
// integers where they are), byte for byte, without its detour: that encodes JSON, then parses the
// JSON as YAML (go-yaml's scanner copies its token queue on every flow entry) and encodes it
// again. For a status branch of 1,000 workspaces the detour was ~85% of all a write allocated.
func marshalYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var obj any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	return yaml.Marshal(yamlNumbers(obj))
}

// yamlNumbers turns JSON numbers into what go-yaml resolves them to: an int when the text is
// one, a float64 otherwise.
func yamlNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = yamlNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = yamlNumbers(e)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return f
		}
		return string(x)
	}
	return v
}
