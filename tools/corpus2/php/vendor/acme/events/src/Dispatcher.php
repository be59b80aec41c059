<?php
namespace Acme\Events;

/** A third-party event dispatcher (Composer's vendor/): calls listeners in order. */
class Dispatcher
{
    private array $listeners = [];

    public function listen(string $event, callable $fn): void
    {
        $this->listeners[$event][] = $fn;
    }

    public function dispatch(string $event, array $payload): array
    {
        $out = [];
        foreach ($this->listeners[$event] ?? [] as $fn) {
            $out[] = $fn($payload);
        }
        return $out;
    }
}
