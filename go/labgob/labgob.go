// Package labgob is the encoding every RPC argument, reply and persisted blob goes through in the lab.
//
// It is encoding/gob plus two warnings that catch the classic Raft encoding mistakes early: a struct field whose
// name starts with a lower-case letter (gob silently drops it, so the peer sees a zero value), and decoding into a
// variable that is not zero (gob leaves fields that were zero on the sender untouched, so stale values survive).
// It registers no types itself: any concrete type carried inside an interface{} must be Registered by the caller,
// in every process that encodes or decodes it.
package labgob

import (
	"encoding/gob"
	"fmt"
	"io"
	"reflect"
	"sync"
	"unicode"
	"unicode/utf8"
)

var (
	mu sync.Mutex
	// errorCount counts every warning printed; the non-default warning is only given while it is zero, so a
	// process that already had an encoding problem is not flooded with follow-up noise.
	errorCount int
	// checked holds the static types already walked: each type is reported at most once per process.
	checked = map[reflect.Type]bool{}
)

// LabEncoder is a gob encoder that checks field names first.
type LabEncoder struct {
	gob *gob.Encoder
}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer) *LabEncoder {
	return &LabEncoder{gob: gob.NewEncoder(w)}
}

// Encode checks e's type, then gob-encodes it.
func (enc *LabEncoder) Encode(e interface{}) error {
	checkValue(e)
	return enc.gob.Encode(e)
}

// EncodeValue is Encode for a reflect.Value.
func (enc *LabEncoder) EncodeValue(v reflect.Value) error {
	if v.IsValid() {
		checkType(v.Type())
	}
	return enc.gob.EncodeValue(v)
}

// LabDecoder is a gob decoder that checks field names and the target's zero-ness first.
type LabDecoder struct {
	gob *gob.Decoder
}

// NewDecoder returns a decoder reading from r.
func NewDecoder(r io.Reader) *LabDecoder {
	return &LabDecoder{gob: gob.NewDecoder(r)}
}

// Decode checks e, then gob-decodes the next value into it.
func (dec *LabDecoder) Decode(e interface{}) error {
	checkValue(e)
	checkDefault(e)
	return dec.gob.Decode(e)
}

// Register records value's concrete type with gob, so it can travel inside an interface{}.
func Register(value interface{}) {
	checkValue(value)
	gob.Register(value)
}

// RegisterName is Register under an explicit name.
func RegisterName(name string, value interface{}) {
	checkValue(value)
	gob.RegisterName(name, value)
}

func checkValue(value interface{}) {
	if value == nil {
		return
	}
	checkType(reflect.TypeOf(value))
}

// checkType walks the static type only. Dynamic types behind interfaces are not known here; they are checked when
// Registered.
func checkType(t reflect.Type) {
	mu.Lock()
	defer mu.Unlock()
	walkType(t)
}

func walkType(t reflect.Type) {
	if checked[t] {
		return
	}
	checked[t] = true
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			r, _ := utf8.DecodeRuneInString(f.Name)
			if !unicode.IsUpper(r) {
				fmt.Printf("labgob error: lower-case field %v of %v in RPC or persist/snapshot will break your Raft\n",
					f.Name, t.Name())
				errorCount++
			}
			walkType(f.Type)
		}
	case reflect.Slice, reflect.Array, reflect.Ptr:
		walkType(t.Elem())
	case reflect.Map:
		walkType(t.Key())
		walkType(t.Elem())
	}
}

// checkDefault warns when decoding into something that already holds data: gob does not overwrite a field with a
// value the sender had as zero, so reusing a reply variable can leave stale values behind.
func checkDefault(value interface{}) {
	if value == nil {
		return
	}
	checkDefaultValue(reflect.ValueOf(value), 1, "")
}

func checkDefaultValue(v reflect.Value, depth int, name string) {
	if depth > 3 {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			checkDefaultValue(v.Field(i), depth+1, name+"."+t.Field(i).Name)
		}
	case reflect.Ptr:
		if v.IsNil() {
			return
		}
		checkDefaultValue(v.Elem(), depth+1, name)
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		if v.IsZero() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if errorCount < 1 {
			what := name
			if what == "" {
				what = v.Type().Name()
			}
			// Printed once per process: after the first warning the count is no longer below one.
			fmt.Printf("labgob warning: Decoding into a non-default variable/field %v may not work\n", what)
			errorCount++
		}
	}
}
