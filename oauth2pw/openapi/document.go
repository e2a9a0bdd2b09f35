package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Version is the OpenAPI version of the documents [Build] writes.
const Version = "3.1.0"

// object is a JSON object under construction.
type object = map[string]any

// Document is a whole OpenAPI document: its metadata, the token endpoint's
// [Scheme] and the API's operations.
type Document struct {
	// Title is the API's name (info.title). Empty means "API".
	Title string
	// Version is the API's version (info.version), not OpenAPI's. Empty
	// means "1".
	Version string
	// Description describes the API (info.description, CommonMark). Empty
	// means none.
	Description string
	// Servers are the base URLs of the API. Nil means none, so that paths
	// resolve against wherever the document is served: what a document
	// served by the API itself wants.
	Servers []string
	// Scheme describes the token endpoint; its TokenURL is required.
	Scheme Scheme
	// Operations are the API's routes, the token endpoint's included (see
	// [TokenEndpoint]). No two may share a method and path.
	Operations []Operation
}

// Build returns d as an OpenAPI 3.1 document in indented JSON: info,
// servers, one path item per path, and the components its operations refer
// to (the security scheme, the error body and token response schemas, and
// the shared error answers). It returns an error for a field no document
// can carry: a missing TokenURL, a scope that is not a scope-token or not
// the Scheme's, a method OpenAPI does not know, a path not starting with
// '/', a schema that is not JSON, or two operations on one method and path.
func Build(d Document) ([]byte, error) {
	if err := d.Scheme.validate(); err != nil {
		return nil, err
	}
	title, version := d.Title, d.Version
	if title == "" {
		title = "API"
	}
	if version == "" {
		version = "1"
	}
	info := object{"title": title, "version": version}
	if d.Description != "" {
		info["description"] = d.Description
	}
	doc := object{"openapi": Version, "info": info, "paths": object{}, "components": object{}}
	if len(d.Servers) > 0 {
		servers := make([]any, 0, len(d.Servers))
		for _, u := range d.Servers {
			if err := validURL(u); err != nil {
				return nil, fmt.Errorf("openapi: Document.Servers: %w", err)
			}
			servers = append(servers, object{"url": u})
		}
		doc["servers"] = servers
	}
	if err := addAll(doc, d.Scheme, d.Operations); err != nil {
		return nil, err
	}
	return encode(doc)
}

// Merge adds what s and ops describe to spec, an OpenAPI 3.0 or 3.1
// document in JSON that another tool generated, and returns the result in
// indented JSON. It adds the security scheme and the error components to
// components; an operation that spec already has (same path, same method)
// gets the security requirement, the error answers it lacks and the
// "x-authkit-access" extension, and keeps everything else; an operation
// spec lacks is added whole. It refuses a spec that is not a JSON object
// with an "openapi" version 3.x, one whose component of the same name as
// one of ours differs from ours, and the operations [Build] refuses. Object
// members come out sorted by name, and numbers keep their spelling.
func Merge(spec []byte, s Scheme, ops []Operation) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	doc, err := decodeObject(spec)
	if err != nil {
		return nil, fmt.Errorf("openapi: Merge: %w", err)
	}
	v, _ := doc["openapi"].(string)
	if !strings.HasPrefix(v, "3.") {
		return nil, fmt.Errorf("openapi: Merge: want an OpenAPI 3 document, have \"openapi\": %q", v)
	}
	for _, key := range []string{"paths", "components"} {
		switch doc[key].(type) {
		case object:
		case nil:
			doc[key] = object{}
		default:
			return nil, fmt.Errorf("openapi: Merge: %q is not an object", key)
		}
	}
	if err := addAll(doc, s, ops); err != nil {
		return nil, err
	}
	return encode(doc)
}

// addAll adds the components of s and the operations ops to doc, whose
// "paths" and "components" are objects.
func addAll(doc object, s Scheme, ops []Operation) error {
	seen := map[string]bool{}
	for i := range ops {
		op := &ops[i]
		if err := op.validate(s); err != nil {
			return err
		}
		key := strings.ToUpper(op.Method) + " " + op.Path
		if seen[key] {
			return fmt.Errorf("openapi: operation %s listed twice", key)
		}
		seen[key] = true
	}
	comps := doc["components"].(object)
	for section, members := range components(s) {
		sec, ok := comps[section].(object)
		if !ok {
			if comps[section] != nil {
				return fmt.Errorf("openapi: components.%s is not an object", section)
			}
			sec = object{}
			comps[section] = sec
		}
		for name, v := range members {
			if old, ok := sec[name]; ok {
				same, err := sameJSON(old, v)
				if err != nil {
					return err
				}
				if !same {
					return fmt.Errorf("openapi: components.%s.%s exists and differs from authkit's", section, name)
				}
				continue
			}
			sec[name] = v
		}
	}
	paths := doc["paths"].(object)
	for i := range ops {
		op := &ops[i]
		item, ok := paths[op.Path].(object)
		if !ok {
			if paths[op.Path] != nil {
				return fmt.Errorf("openapi: paths[%q] is not an object", op.Path)
			}
			item = object{}
			paths[op.Path] = item
		}
		method := strings.ToLower(op.Method)
		existing, ok := item[method].(object)
		if !ok {
			item[method] = op.object(s.name())
			continue
		}
		existing["security"] = op.security(s.name())
		if op.restricted() {
			existing[accessExtensionName] = op.access()
		}
		rs, ok := existing["responses"].(object)
		if !ok {
			rs = object{}
			existing["responses"] = rs
		}
		for status, ref := range op.errorResponses() {
			if _, ok := rs[status]; !ok {
				rs[status] = ref
			}
		}
	}
	return nil
}

// decodeObject decodes data, one JSON object, keeping numbers as written.
func decodeObject(data []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc object
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if doc == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the JSON object")
	}
	return doc, nil
}

// sameJSON reports whether a and b encode to the same JSON.
func sameJSON(a, b any) (bool, error) {
	ea, err := encode(a)
	if err != nil {
		return false, err
	}
	eb, err := encode(b)
	if err != nil {
		return false, err
	}
	// Numbers of b may be Go numbers, those of a json.Numbers: compare
	// after one round trip through the decoder.
	var na, nb any
	for _, p := range []struct {
		in  []byte
		out *any
	}{{ea, &na}, {eb, &nb}} {
		dec := json.NewDecoder(bytes.NewReader(p.in))
		dec.UseNumber()
		if err := dec.Decode(p.out); err != nil {
			return false, err
		}
	}
	ea, _ = encode(na)
	eb, _ = encode(nb)
	return bytes.Equal(ea, eb), nil
}

// encode writes v as indented JSON without HTML escaping.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("openapi: encode: %w", err)
	}
	return buf.Bytes(), nil
}
