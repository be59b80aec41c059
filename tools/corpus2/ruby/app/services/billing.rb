class BillingError < StandardError; end

class Billing
  def self.per_seat(total, seats)
    total / seats
  end

  def self.invoice(total, seats)
    per_seat(total, seats)
  rescue ZeroDivisionError
    raise BillingError, "cannot invoice #{total} for #{seats} seats"
  end
end
