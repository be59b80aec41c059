<?php
namespace Forum;

class Mailer
{
    public static function digest(array $users, int $perPage): array
    {
        $pages = intdiv(count($users), $perPage);
        return array_fill(0, $pages, 'digest');
    }
}
