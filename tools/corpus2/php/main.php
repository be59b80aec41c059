<?php
// forum: runs one bug per argument and prints each exception as one JSON line: type
// (get_class), message, and the trace as the deployment logs it — getTraceAsString() (FORMAT=trace)
// or the exception as a string, previous exceptions included (FORMAT=string).
require __DIR__ . '/vendor/acme/events/src/Dispatcher.php';
foreach (glob(__DIR__ . '/src/*.php') as $f) {
    require $f;
}

use Acme\Events\Dispatcher;
use Forum\Mailer;
use Forum\Posts;
use Forum\Storage;
use Forum\Threads;

function record(string $bug, \Throwable $e): void
{
    $trace = getenv('FORMAT') === 'string' ? (string) $e : $e->getTraceAsString();
    echo json_encode(['bug' => $bug, 'exception_type' => get_class($e), 'message' => $e->getMessage(),
        'stacktrace' => $trace]) . "\n";
}

$events = new Dispatcher();
$events->listen('php-titles', fn ($p) => Posts::titles([['title' => 'a'], ['name' => $p['arg']]]));
$events->listen('php-excerpt', fn ($p) => Posts::excerpt(null));
$events->listen('php-save', fn ($p) => Storage::save(7, $p['arg']));
$events->listen('php-threads', fn ($p) => Threads::count(Threads::nested((int) $p['arg'])));
$events->listen('php-digest', fn ($p) => Mailer::digest(['a', 'b'], (int) $p['arg']));

foreach (array_slice($argv, 1) as $a) {
    [$bug, $arg] = array_pad(explode('=', $a, 2), 2, '');
    try {
        $events->dispatch($bug, ['arg' => $arg]);
    } catch (\Throwable $e) {
        record($bug, $e);
    }
}
