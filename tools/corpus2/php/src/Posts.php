<?php
namespace Forum;

class Posts
{
    public static function titles(array $posts): array
    {
        return array_map(function ($p) {
            return $p['date']->format('Y-m-d') . ' ' . $p['title'];
        }, $posts);
    }

    public static function excerpt(?array $post): string
    {
        return count($post['tags']) . ' tags';
    }
}
