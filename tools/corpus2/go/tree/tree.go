package tree

import "fmt"

// Node of a category tree.
type Node struct {
	Name     string
	Children []*Node
}

// Build a chain of depth d whose leaf is broken.
func Build(d int) *Node {
	n := &Node{Name: "leaf"}
	for i := 0; i < d; i++ {
		n = &Node{Name: fmt.Sprintf("c%d", i), Children: []*Node{n}}
	}
	return n
}

// Walk visits every node and panics on a leaf without a path.
func Walk(n *Node, path string) int {
	if len(n.Children) == 0 {
		if n.Name == "leaf" {
			panic(fmt.Errorf("category %q has no slug (path %s)", n.Name, path))
		}
		return 1
	}
	total := 0
	for _, c := range n.Children {
		total += Walk(c, path+"/"+n.Name)
	}
	return total
}
