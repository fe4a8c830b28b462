// Command argocd-health runs an Argo CD resource health script the way Argo CD
// does: the object as the global `obj`, the script's returned table as the
// health. It prints that health as JSON.
//
//	argocd-health SCRIPT.lua < object.json
//
// As Argo CD does before any script, an object being deleted is Progressing
// ("Pending deletion") without running the script.
//
// Only the libraries Argo CD opens for health scripts are opened (package,
// base, table; its "safe" os is left out, so a script using os fails here
// rather than in some Argo CD versions), so a script that needs another one
// fails here as it would there.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	lua "github.com/yuin/gopher-lua"
)

// The statuses Argo CD accepts from a health script.
var valid = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: argocd-health SCRIPT.lua < object.json")
		os.Exit(2)
	}
	script, err := os.ReadFile(os.Args[1])
	check(err)
	input, err := io.ReadAll(os.Stdin)
	check(err)
	var obj map[string]any
	check(json.Unmarshal(input, &obj))

	if meta, _ := obj["metadata"].(map[string]any); meta["deletionTimestamp"] != nil {
		fmt.Println(`{"message":"Pending deletion","status":"Progressing"}`)
		return
	}

	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		check(l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)))
	}
	l.SetGlobal("obj", toLua(l, obj))
	check(l.DoString(string(script)))

	table, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		fail("the script returned %s, not a table", l.Get(-1).Type())
	}
	health := map[string]string{}
	table.ForEach(func(k, v lua.LValue) {
		if s, ok := v.(lua.LString); ok {
			health[k.String()] = string(s)
		} else {
			fail("health.%s is a %s, not a string", k.String(), v.Type())
		}
	})
	if !valid[health["status"]] {
		fail("health.status %q is not one Argo CD knows", health["status"])
	}
	out, err := json.Marshal(health)
	check(err)
	fmt.Println(string(out))
}

// toLua converts decoded JSON as Argo CD does: objects and arrays become
// tables (arrays from index 1), numbers Lua numbers, null nil.
func toLua(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case map[string]any:
		t := l.NewTable()
		for key, item := range v {
			t.RawSetString(key, toLua(l, item))
		}
		return t
	case []any:
		t := l.NewTable()
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	default:
		return lua.LNil
	}
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "argocd-health: "+format+"\n", args...)
	os.Exit(1)
}
