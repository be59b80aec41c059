# events-api: runs one bug per argument through a vendored router and middleware (the chain
# differs by deployment), printing each exception as the OpenTelemetry Ruby SDK records it:
# type (error.class.to_s), message, full_message(highlight: false, order: :top).
require "json"
$LOAD_PATH.unshift(File.expand_path(ENV.fetch("GEM_LIB"), __dir__))
require "tinyroute"
require_relative "models/venue"
require_relative "services/billing"
require_relative "services/agenda"
require_relative "services/settings"

ROUTES = {
  "r-owner" => ->(arg) { Venue.new(arg, nil).owner_label },
  "r-invoice" => ->(arg) { Billing.invoice(100, arg.to_i) },
  "r-agenda" => ->(arg) { Agenda.titles(Agenda.nested(arg.to_i)) },
  "r-setting" => ->(arg) { Settings.lookup(arg) },
}.freeze

def record(bug, e)
  puts JSON.generate({ bug: bug, exception_type: e.class.to_s, message: e.message,
                       stacktrace: e.full_message(highlight: false, order: :top) })
end

stack = Tinyroute::Stack.new
stack.use { |_env, nxt| nxt.call } if ENV["CHAIN"] == "logging"
stack.use { |env, nxt| env[:user] ||= "guest"; nxt.call } if %w[auth logging].include?(ENV["CHAIN"])

ARGV.each do |a|
  bug, arg = a.split("=", 2)
  begin
    stack.call({ bug: bug }) { |_env| ROUTES.fetch(bug).call(arg.to_s) }
  rescue StandardError => e
    record(bug, e)
  end
end
