// Package telemetry records errors the way OpenTelemetry Go does: the type string of the value
// (typeStr) and, for errors, the recording goroutine's stack (runtime.Stack at RecordError time);
// for panics, runtime/debug.Stack() taken in the recover handler.
package telemetry

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
)

// Bug labels what the next recorded event is (the driver's answer key).
var Bug string

func typeStr(i interface{}) string {
	t := reflect.TypeOf(i)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String()
	}
	return fmt.Sprintf("%s.%s", t.PkgPath(), t.Name())
}

func emit(typ, msg, stack string) {
	out, _ := json.Marshal(map[string]string{"bug": Bug, "exception_type": typ, "message": msg, "stacktrace": stack})
	fmt.Fprintln(os.Stdout, string(out))
}

// RecordError records a returned error with the caller's goroutine stack.
func RecordError(err error) {
	buf := make([]byte, 2048)
	n := runtime.Stack(buf, false)
	emit(typeStr(err), err.Error(), string(buf[0:n]))
}

// RecordPanic records a recovered panic value with debug.Stack().
func RecordPanic(v interface{}) {
	msg := fmt.Sprint(v)
	if e, ok := v.(error); ok {
		msg = e.Error()
	}
	emit(typeStr(v), msg, string(debug.Stack()))
}
