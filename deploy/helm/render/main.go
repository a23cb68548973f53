// Command render renders a Helm chart the way `helm template` does, for the
// subset of Helm that Quarry's chart uses, with nothing but Go's text/template,
// sprig and yaml.v3 (all packaged by Debian). It exists so CI can render and
// check deploy/helm/quarry without a Helm binary, which Debian does not ship.
// It is NOT Helm: see deploy/helm/README.md for what it does not do.
//
// Usage (flags and positionals in any order, like helm template):
//
//	render [NAME] CHART_DIR [--namespace NS] [-f values.yaml]... [--set a.b=c]...
//	       [--set-string a.b=c]... [--kube-version v1.27.0]
//
// Build (GOPATH mode, offline, against Debian's /usr/share/gocode):
//
//	GO111MODULE=off GOPATH=$GOPATH_WITH_THIS_DIR:/usr/share/gocode go build
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type options struct {
	release    string
	chartDir   string
	namespace  string
	valueFiles []string
	sets       []string
	setStrings []string
	kube       string
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: render [NAME] CHART_DIR [--namespace NS] [-f FILE]... [--set K=V]... [--set-string K=V]... [--kube-version vX.Y.Z]")
	os.Exit(2)
}

func parseArgs(args []string) options {
	o := options{release: "release-name", namespace: "default", kube: "v1.27.0"}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := arg, "", false
		if strings.HasPrefix(arg, "-") && strings.Contains(arg, "=") {
			name, value, hasValue = arg[:strings.Index(arg, "=")], arg[strings.Index(arg, "=")+1:], true
		}
		next := func() string {
			if hasValue {
				return value
			}
			if i+1 >= len(args) {
				fmt.Fprintf(os.Stderr, "render: %s needs a value\n", name)
				usage()
			}
			i++
			return args[i]
		}
		switch name {
		case "-n", "--namespace":
			o.namespace = next()
		case "-f", "--values":
			o.valueFiles = append(o.valueFiles, next())
		case "--set":
			o.sets = append(o.sets, next())
		case "--set-string":
			o.setStrings = append(o.setStrings, next())
		case "--kube-version":
			o.kube = next()
		case "-h", "--help":
			usage()
		default:
			if strings.HasPrefix(arg, "-") {
				fmt.Fprintf(os.Stderr, "render: unknown flag %s (this is not Helm; see deploy/helm/README.md)\n", arg)
				os.Exit(2)
			}
			positional = append(positional, arg)
		}
	}
	switch len(positional) {
	case 1:
		o.chartDir = positional[0]
	case 2:
		o.release, o.chartDir = positional[0], positional[1]
	default:
		usage()
	}
	return o
}

// ---- values ------------------------------------------------------------------

// jsonish converts YAML-decoded data to what Helm's templates see: Helm reads
// values through sigs.k8s.io/yaml, i.e. through JSON, so every number is a
// float64 and every map a map[string]interface{}. Charts must therefore use
// `int` where they need integers; mimicking this keeps us honest.
func jsonish(v interface{}) (interface{}, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out interface{}
	err = json.Unmarshal(b, &out)
	return out, err
}

func readYAMLMap(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	v, err := jsonish(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: top level is not a mapping", path)
	}
	return m, nil
}

// coalesce merges src over dst like Helm: maps merge recursively, anything
// else replaces, and a null in src deletes the key.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, sv := range src {
		if sv == nil {
			delete(dst, k)
			continue
		}
		sm, sIsMap := sv.(map[string]interface{})
		dm, dIsMap := dst[k].(map[string]interface{})
		if sIsMap && dIsMap {
			dst[k] = coalesce(dm, sm)
		} else {
			dst[k] = sv
		}
	}
	return dst
}

// splitUnescaped splits s on sep outside {...} and honouring backslash escapes.
func splitUnescaped(s string, sep rune) []string {
	var parts []string
	var cur strings.Builder
	depth, escaped := 0, false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune('\\')
			cur.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped = true
		case r == '{':
			depth++
			cur.WriteRune(r)
		case r == '}':
			depth--
			cur.WriteRune(r)
		case r == sep && depth == 0:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(parts, cur.String())
}

func unescape(s string) string {
	var b strings.Builder
	escaped := false
	for _, r := range s {
		if !escaped && r == '\\' {
			escaped = true
			continue
		}
		escaped = false
		b.WriteRune(r)
	}
	return b.String()
}

// typedValue mirrors Helm's strvals: integers become int64, true/false bools,
// null nil; everything else (floats included) stays a string.
func typedValue(s string, asString bool) interface{} {
	if asString {
		return s
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if len(s) > 0 && (s[0] != '0' || s == "0") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
	}
	return s
}

var indexRe = regexp.MustCompile(`^(.*)\[(\d+)\]$`)

// applySet applies one --set argument ("a.b=c,d[0]=e,f={x,y}").
func applySet(values map[string]interface{}, arg string, asString bool) error {
	for _, assignment := range splitUnescaped(arg, ',') {
		if assignment == "" {
			continue
		}
		kv := splitUnescaped(assignment, '=')
		if len(kv) < 2 {
			return fmt.Errorf("--set %q: want key=value", assignment)
		}
		key, raw := kv[0], strings.Join(kv[1:], "=")
		var value interface{}
		if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
			var list []interface{}
			inner := raw[1 : len(raw)-1]
			if inner != "" {
				for _, item := range splitUnescaped(inner, ',') {
					list = append(list, typedValue(unescape(item), asString))
				}
			}
			value = list
		} else {
			value = typedValue(unescape(raw), asString)
		}
		path := splitUnescaped(key, '.')
		cur := values
		for i, part := range path {
			part = unescape(part)
			last := i == len(path)-1
			name, index := part, -1
			if m := indexRe.FindStringSubmatch(part); m != nil {
				name = m[1]
				index, _ = strconv.Atoi(m[2])
			}
			if index >= 0 {
				list, _ := cur[name].([]interface{})
				for len(list) <= index {
					list = append(list, nil)
				}
				cur[name] = list
				if last {
					list[index] = value
					break
				}
				next, ok := list[index].(map[string]interface{})
				if !ok {
					next = map[string]interface{}{}
					list[index] = next
				}
				cur = next
				continue
			}
			if last {
				if value == nil {
					delete(cur, name)
				} else {
					cur[name] = value
				}
				break
			}
			next, ok := cur[name].(map[string]interface{})
			if !ok {
				next = map[string]interface{}{}
				cur[name] = next
			}
			cur = next
		}
	}
	return nil
}

// ---- template functions --------------------------------------------------------

// toYAMLString formats like Helm's toYaml (sigs.k8s.io/yaml: JSON first, so
// keys are sorted and numbers are printed without exponents).
func toYAMLString(v interface{}) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var generic interface{}
	if err := dec.Decode(&generic); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(numbersToGo(generic)); err != nil {
		return "", err
	}
	enc.Close()
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func numbersToGo(v interface{}) interface{} {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]interface{}:
		for k, e := range t {
			t[k] = numbersToGo(e)
		}
		return t
	case []interface{}:
		for i, e := range t {
			t[i] = numbersToGo(e)
		}
		return t
	}
	return v
}

func funcMap(root **template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	// Helm removes these: a render must not depend on the environment.
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = func(v interface{}) string {
		s, err := toYAMLString(v)
		if err != nil {
			return ""
		}
		return s
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		var raw interface{}
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
			m["Error"] = err.Error()
			return m
		}
		if v, err := jsonish(raw); err == nil {
			if vm, ok := v.(map[string]interface{}); ok {
				return vm
			}
		}
		return m
	}
	f["toJson"] = func(v interface{}) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := (*root).ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := (*root).Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	f["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	// There is no cluster to look anything up in (as with `helm template`).
	f["lookup"] = func(string, string, string, string) map[string]interface{} {
		return map[string]interface{}{}
	}
	return f
}

// apiVersions answers .Capabilities.APIVersions.Has for the built-in APIs of
// the Kubernetes version we claim to render for.
type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// ---- rendering -------------------------------------------------------------------

// installOrder is Helm's kind order for install (releaseutil.InstallOrder).
var installOrder = []string{
	"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap",
	"StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
	"ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
	"RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
	"ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
	"StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
}

type manifest struct {
	source string
	kind   string
	name   string
	body   string
}

func kindRank(kind string) int {
	for i, k := range installOrder {
		if k == kind {
			return i
		}
	}
	return len(installOrder)
}

func run(o options) error {
	chartMeta, err := readYAMLMap(filepath.Join(o.chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	chartName, _ := chartMeta["name"].(string)
	if chartName == "" {
		return fmt.Errorf("%s/Chart.yaml: no name", o.chartDir)
	}
	if deps, ok := chartMeta["dependencies"].([]interface{}); ok && len(deps) > 0 {
		return fmt.Errorf("chart dependencies are not supported by this renderer")
	}
	values := map[string]interface{}{}
	if _, err := os.Stat(filepath.Join(o.chartDir, "values.yaml")); err == nil {
		if values, err = readYAMLMap(filepath.Join(o.chartDir, "values.yaml")); err != nil {
			return err
		}
	}
	for _, path := range o.valueFiles {
		extra, err := readYAMLMap(path)
		if err != nil {
			return err
		}
		values = coalesce(values, extra)
	}
	for _, s := range o.sets {
		if err := applySet(values, s, false); err != nil {
			return err
		}
	}
	for _, s := range o.setStrings {
		if err := applySet(values, s, true); err != nil {
			return err
		}
	}

	chart := map[string]interface{}{
		"Name": chartName, "Version": chartMeta["version"], "AppVersion": chartMeta["appVersion"],
		"Description": chartMeta["description"], "Type": chartMeta["type"],
		"APIVersion": chartMeta["apiVersion"], "Home": chartMeta["home"],
	}
	kv := strings.TrimPrefix(o.kube, "v")
	kvParts := strings.SplitN(kv, ".", 3)
	if len(kvParts) < 2 {
		return fmt.Errorf("--kube-version %q: want vMAJOR.MINOR.PATCH", o.kube)
	}
	capabilities := map[string]interface{}{
		"KubeVersion": map[string]interface{}{
			"Version": "v" + kv, "GitVersion": "v" + kv, "Major": kvParts[0], "Minor": kvParts[1],
		},
		"APIVersions": apiVersions{
			"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v1", "autoscaling/v2",
			"networking.k8s.io/v1", "rbac.authorization.k8s.io/v1", "storage.k8s.io/v1",
		},
	}
	release := map[string]interface{}{
		"Name": o.release, "Namespace": o.namespace, "Service": "Helm",
		"IsInstall": true, "IsUpgrade": false, "Revision": 1,
	}

	// Every file under templates/ goes into one template set, so `define`s in
	// _helpers.tpl are visible everywhere (as in Helm).
	templatesDir := filepath.Join(o.chartDir, "templates")
	var files []string
	err = filepath.WalkDir(templatesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	var root *template.Template
	root = template.New(chartName).Funcs(funcMap(&root)).Option("missingkey=zero")
	var rendered []string
	for _, path := range files {
		rel, _ := filepath.Rel(o.chartDir, path)
		name := chartName + "/" + filepath.ToSlash(rel)
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := root.New(name).Parse(string(text)); err != nil {
			return err
		}
		base := filepath.Base(path)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" {
			continue
		}
		ext := filepath.Ext(base)
		if ext != ".yaml" && ext != ".yml" && ext != ".tpl" && ext != ".json" {
			continue
		}
		rendered = append(rendered, name)
	}

	var manifests []manifest
	for _, name := range rendered {
		data := map[string]interface{}{
			"Values": values, "Release": release, "Chart": chart, "Capabilities": capabilities,
			"Template": map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"},
			"Files":    map[string]interface{}{},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return err
		}
		out := strings.ReplaceAll(buf.String(), "<no value>", "")
		for _, doc := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(out, -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var obj map[string]interface{}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				return fmt.Errorf("%s: rendered invalid YAML: %v\n%s", name, err, doc)
			}
			if obj == nil {
				continue // Only comments.
			}
			kind, _ := obj["kind"].(string)
			meta, _ := obj["metadata"].(map[string]interface{})
			objName, _ := meta["name"].(string)
			if kind == "" || objName == "" {
				return fmt.Errorf("%s: a rendered object has no kind or metadata.name:\n%s", name, doc)
			}
			manifests = append(manifests, manifest{source: name, kind: kind, name: objName, body: strings.Trim(doc, "\n")})
		}
	}
	sort.SliceStable(manifests, func(i, j int) bool {
		ri, rj := kindRank(manifests[i].kind), kindRank(manifests[j].kind)
		if ri != rj {
			return ri < rj
		}
		return manifests[i].name < manifests[j].name
	})
	seen := map[string]string{}
	for _, m := range manifests {
		key := m.kind + "/" + m.name
		if prev, dup := seen[key]; dup {
			return fmt.Errorf("%s and %s both render %s", prev, m.source, key)
		}
		seen[key] = m.source
		fmt.Printf("---\n# Source: %s\n%s\n", m.source, m.body)
	}
	return nil
}

func main() {
	if err := run(parseArgs(os.Args[1:])); err != nil {
		fmt.Fprintf(os.Stderr, "render: %v\n", err)
		os.Exit(1)
	}
}
