package jwtauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// A strict reader for the top level of a JSON object. encoding/json matches
// struct fields case-insensitively and keeps the last of repeated names, so
// {"sub":"bob","SUB":"admin"} would be read differently by different
// parsers. Here member names match exactly (after unescaping) and a repeated
// name is an error, which the caller's fn reports. The reader validates
// each document with encoding/json first ([eachMember] does so itself) and
// then walks it without copying.

var (
	errNotJSON      = errors.New("not valid UTF-8 JSON")
	errNotObject    = errors.New("not a JSON object")
	errDuplicateKey = errors.New("duplicate member name")
)

// checkJSON reports whether data is valid UTF-8 and valid JSON.
func checkJSON(data []byte) bool {
	return utf8.Valid(data) && json.Valid(data)
}

// eachMember calls fn with the name and raw value of every top-level member
// of the object in data, in order. It first checks data with [checkJSON]
// and walks nothing that fails: the scanner below relies on valid JSON. fn
// receives the name unescaped; it may not retain name.
func eachMember(data []byte, fn func(name, value []byte) error) error {
	if !checkJSON(data) {
		return errNotJSON
	}
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errNotObject
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil
	}
	for i < len(data) {
		// name
		end := skipString(data, i)
		name := data[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(data[i:end], &s); err != nil {
				return err
			}
			name = []byte(s)
		}
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // ':'
		vend := skipValue(data, i)
		if err := fn(name, data[i:vend]); err != nil {
			return err
		}
		i = skipSpace(data, vend)
		if i >= len(data) || data[i] == '}' {
			return nil
		}
		i = skipSpace(data, i+1) // ','
	}
	return errNotObject
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at data[i].
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// skipValue returns the index after the value starting at data[i].
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(data) {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

var errNotArray = errors.New("not a JSON array")

// eachElement calls fn with every element of the array in v, in order. v
// must be a value that [eachMember] handed out, or part of another document
// that passed checkJSON.
func eachElement(v []byte, fn func(elem []byte) error) error {
	if len(v) == 0 || v[0] != '[' {
		return errNotArray
	}
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == ']' {
		return nil
	}
	for i < len(v) {
		end := skipValue(v, i)
		if err := fn(v[i:end]); err != nil {
			return err
		}
		i = skipSpace(v, end)
		if i >= len(v) || v[i] == ']' {
			return nil
		}
		i = skipSpace(v, i+1) // ','
	}
	return errNotArray
}

var errNotString = errors.New("not a string")

// jsonString decodes a raw JSON string value, one that [eachMember] or
// [eachElement] handed out.
func jsonString(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' {
		return "", errNotString
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), nil
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

var errNotStringArray = errors.New("not an array of strings")

// jsonStrings decodes a raw JSON array of strings. The result has no spare
// capacity: verified claims may be shared through the token cache, and an
// append by one holder must copy rather than write into an array that the
// next holder's append writes too.
func jsonStrings(v []byte) ([]string, error) {
	if len(v) == 0 || v[0] != '[' {
		return nil, errNotStringArray
	}
	var out []string
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == ']' {
		return []string{}, nil
	}
	for i < len(v) {
		end := skipValue(v, i)
		s, err := jsonString(v[i:end])
		if err != nil {
			return nil, errNotStringArray
		}
		out = append(out, s)
		i = skipSpace(v, end)
		if i >= len(v) || v[i] == ']' {
			return slices.Clip(out), nil
		}
		i = skipSpace(v, i+1)
	}
	return nil, errNotStringArray
}

// maxNumericDate is 9999-12-31T23:59:59Z, a bound that keeps time
// arithmetic far from overflow.
const maxNumericDate = 253402300799

var errBadDate = errors.New("not a positive NumericDate")

// jsonNumericDate decodes an RFC 7519 NumericDate: a JSON number of seconds
// since the epoch, greater than zero. Strings are refused.
func jsonNumericDate(v []byte) (time.Time, error) {
	if len(v) == 0 || v[0] < '0' || v[0] > '9' {
		return time.Time{}, errBadDate // strings, negatives, literals
	}
	var sec int64
	digits := true
	for _, c := range v {
		if c < '0' || c > '9' {
			digits = false
			break
		}
	}
	if digits && len(v) <= 12 {
		for _, c := range v {
			sec = sec*10 + int64(c-'0')
		}
		if sec <= 0 || sec > maxNumericDate {
			return time.Time{}, errBadDate
		}
		return time.Unix(sec, 0), nil
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > maxNumericDate {
		return time.Time{}, errBadDate
	}
	whole := math.Floor(f)
	return time.Unix(int64(whole), int64((f-whole)*1e9)), nil
}
