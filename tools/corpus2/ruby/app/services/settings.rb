class Settings
  DEFAULTS = { "timezone" => "UTC", "locale" => "en" }.freeze

  def self.lookup(key)
    DEFAULTS.fetch(key)
  end
end
