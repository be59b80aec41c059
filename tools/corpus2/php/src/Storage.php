<?php
namespace Forum;

class StorageException extends \RuntimeException
{
}

class Storage
{
    private static function write(string $failure): void
    {
        if ($failure === 'disk') {
            throw new \ErrorException('fwrite(): Write of 512 bytes failed with errno=28 No space left on device');
        }
        if ($failure === 'lock') {
            throw new \RuntimeException('could not acquire lock on posts.db within 5 s');
        }
        throw new \PDOException('SQLSTATE[HY000]: General error: 8 attempt to write a readonly database');
    }

    public static function save(int $id, string $failure): void
    {
        try {
            self::write($failure);
        } catch (\Throwable $e) {
            throw new StorageException("cannot save post $id", 0, $e);
        }
    }
}
