<?php
namespace Forum;

class Threads
{
    public static function nested(int $depth): array
    {
        $node = ['title' => null, 'replies' => []];
        for ($i = 0; $i < $depth; $i++) {
            $node = ['title' => "t$i", 'replies' => [$node]];
        }
        return $node;
    }

    public static function count(array $node, int $depth = 0): int
    {
        if ($node['title'] === null) {
            throw new \InvalidArgumentException("reply without title at depth $depth");
        }
        $n = 1;
        foreach ($node['replies'] as $r) {
            $n += self::count($r, $depth + 1);
        }
        return $n;
    }
}
