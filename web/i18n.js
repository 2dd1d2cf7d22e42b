/* Vigil web map — interface strings (Vietnamese first, English second).
 *
 * Plain script (no modules, no build step): defines window.VigilI18n.
 * Labels for hotspot kinds and statuses come from GET /v1/vocab when the
 * server provides them; the ones below are the fallback.
 */
(function () {
  'use strict';

  const STORAGE_KEY = 'vigil.lang';
  const LANGS = ['vi', 'en'];

  const DICT = {
    vi: {
      'app.title': 'Bản đồ điểm, tụ điểm ma túy',
      'app.name': 'Vigil',
      'lang.switch': 'English',
      'lang.switch.aria': 'Switch the interface to English',
      'login.heading': 'Đăng nhập',
      'login.intro': 'Đăng nhập bằng tên và mật khẩu, hoặc dán mã truy cập do quản trị viên cấp.',
      'login.name': 'Tên đăng nhập',
      'login.password': 'Mật khẩu',
      'login.or': 'hoặc dùng mã truy cập',
      'login.error.password': 'Tên đăng nhập hoặc mật khẩu không đúng.',
      'login.error.429': 'Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút.',
      'login.token': 'Mã truy cập',
      'login.token.placeholder': 'vgl_…',
      'login.show': 'Hiện mã',
      'login.submit': 'Đăng nhập',
      'login.busy': 'Đang đăng nhập…',
      'login.error.401': 'Mã truy cập không đúng hoặc đã bị thu hồi. Vui lòng kiểm tra lại.',
      'login.error.empty': 'Vui lòng nhập tên và mật khẩu, hoặc mã truy cập.',
      'login.error.network': 'Không kết nối được tới máy chủ Vigil. Vui lòng thử lại.',
      'login.error.other': 'Đăng nhập không thành công',
      'login.expired': 'Phiên làm việc đã hết hạn hoặc mã truy cập không còn hiệu lực. Vui lòng đăng nhập lại.',
      'login.loggedout': 'Bạn đã đăng xuất.',
      'logout': 'Đăng xuất',
      'user.national': 'toàn quốc',
      'user.provinces': 'tỉnh',
      'user.communes': 'xã/phường',
      'role.admin': 'Quản trị',
      'role.analyst': 'Cán bộ nghiệp vụ',
      'role.reviewer': 'Cán bộ rà soát',
      'role.operator': 'Tổ bay UAV',
      'role.viewer': 'Xem',
      'filters.heading': 'Bộ lọc',
      'filters.status': 'Trạng thái',
      'filters.kind': 'Loại',
      'filters.commune': 'Mã xã/phường',
      'filters.commune.placeholder': 'ví dụ 25111',
      'filters.all': 'Tất cả',
      'filters.apply': 'Áp dụng',
      'filters.reset': 'Xóa lọc',
      'count.points': '{n} điểm',
      'count.points.one': '{n} điểm',
      'count.shown': '(đang hiển thị {m})',
      'count.loading': 'Đang tải…',
      'count.error': 'Không tải được dữ liệu điểm',
      'legend.heading': 'Chú giải',
      'legend.province': 'Ranh giới tỉnh',
      'legend.commune': 'Ranh giới xã/phường (khi phóng to)',
      'list.heading': 'Danh sách điểm trong vùng nhìn',
      'list.more': 'và {n} điểm khác — phóng to để xem',
      'list.empty': 'Không có điểm nào trong vùng nhìn.',
      'sidebar.toggle': 'Bộ lọc và chú giải',
      'skip.map': 'Chuyển tới bản đồ',
      'map.aria': 'Bản đồ điểm, tụ điểm ma túy',
      'detail.heading': 'Thông tin điểm',
      'detail.close': 'Đóng',
      'detail.loading': 'Đang tải…',
      'detail.readonly': 'Bạn chỉ có quyền xem.',
      'field.id': 'Mã số',
      'field.name': 'Tên điểm',
      'field.kind': 'Loại',
      'field.status': 'Trạng thái',
      'field.status_since': 'Trạng thái từ ngày',
      'field.address': 'Địa chỉ',
      'field.source': 'Nguồn tin',
      'field.notes': 'Ghi chú',
      'field.reported_on': 'Ngày phát hiện',
      'field.commune': 'Xã/phường',
      'field.province': 'Tỉnh',
      'field.coordinates': 'Tọa độ (WGS 84)',
      'field.created_at': 'Tạo lúc',
      'field.updated_at': 'Cập nhật lúc',
      'field.version': 'Phiên bản',
      'privacy.note': 'Không ghi thông tin cá nhân của người sử dụng ma túy',
      'edit.heading': 'Sửa thông tin',
      'edit.save': 'Lưu',
      'edit.saving': 'Đang lưu…',
      'edit.saved': 'Đã lưu.',
      'edit.nochange': 'Không có thay đổi để lưu.',
      'edit.conflict': 'Điểm này vừa được người khác cập nhật. Đã tải lại dữ liệu mới nhất; các thay đổi của bạn vẫn còn trong ô nhập — hãy kiểm tra rồi bấm Lưu lại.',
      'transition.heading': 'Chuyển trạng thái',
      'transition.on': 'Ngày',
      'transition.note': 'Ghi chú chuyển trạng thái',
      'transition.to': 'Chuyển sang: {label}',
      'transition.none': 'Không có chuyển trạng thái hợp lệ từ trạng thái này.',
      'transition.busy': 'Đang chuyển trạng thái…',
      'transition.done': 'Đã chuyển trạng thái sang “{label}”.',
      'history.heading': 'Lịch sử',
      'history.empty': 'Chưa có thay đổi trạng thái.',
      'history.created': 'Tạo mới',
      'history.by': 'bởi {actor}',
      'history.recorded': 'ghi lúc {t}',
      'history.error': 'Không tải được lịch sử',
      'error.generic': 'Có lỗi xảy ra',
      'error.network': 'Không kết nối được tới máy chủ.',
      'error.forbidden': 'Bạn không có quyền thực hiện thao tác này.',
      'basemap.attribution': 'Nền bản đồ: Natural Earth',
      'unknown': '—'
    },
    en: {
      'app.title': 'Drug hotspot map',
      'app.name': 'Vigil',
      'lang.switch': 'Tiếng Việt',
      'lang.switch.aria': 'Chuyển giao diện sang tiếng Việt',
      'login.heading': 'Log in',
      'login.intro': 'Log in with your name and password, or paste the access token your administrator gave you.',
      'login.name': 'User name',
      'login.password': 'Password',
      'login.or': 'or use an access token',
      'login.error.password': 'Wrong user name or password.',
      'login.error.429': 'Too many failed logins. Please try again in a few minutes.',
      'login.token': 'Access token',
      'login.token.placeholder': 'vgl_…',
      'login.show': 'Show token',
      'login.submit': 'Log in',
      'login.busy': 'Logging in…',
      'login.error.401': 'The access token is wrong or has been revoked. Please check it.',
      'login.error.empty': 'Please enter your name and password, or an access token.',
      'login.error.network': 'Cannot reach the Vigil server. Please try again.',
      'login.error.other': 'Login failed',
      'login.expired': 'Your session has expired or the access token is no longer valid. Please log in again.',
      'login.loggedout': 'You have logged out.',
      'logout': 'Log out',
      'user.national': 'national',
      'user.provinces': 'provinces',
      'user.communes': 'communes',
      'role.admin': 'Administrator',
      'role.analyst': 'Analyst',
      'role.reviewer': 'Reviewer',
      'role.operator': 'Drone operator',
      'role.viewer': 'Viewer',
      'filters.heading': 'Filters',
      'filters.status': 'Status',
      'filters.kind': 'Kind',
      'filters.commune': 'Commune code',
      'filters.commune.placeholder': 'e.g. 25111',
      'filters.all': 'All',
      'filters.apply': 'Apply',
      'filters.reset': 'Clear filters',
      'count.points': '{n} hotspots',
      'count.points.one': '{n} hotspot',
      'count.shown': '({m} shown)',
      'count.loading': 'Loading…',
      'count.error': 'Could not load hotspots',
      'legend.heading': 'Legend',
      'legend.province': 'Province boundary',
      'legend.commune': 'Commune boundary (zoomed in)',
      'list.heading': 'Hotspots in view',
      'list.more': 'and {n} more — zoom in to see them',
      'list.empty': 'No hotspots in view.',
      'sidebar.toggle': 'Filters and legend',
      'skip.map': 'Skip to the map',
      'map.aria': 'Drug hotspot map',
      'detail.heading': 'Hotspot details',
      'detail.close': 'Close',
      'detail.loading': 'Loading…',
      'detail.readonly': 'You have read-only access.',
      'field.id': 'ID',
      'field.name': 'Name',
      'field.kind': 'Kind',
      'field.status': 'Status',
      'field.status_since': 'Status since',
      'field.address': 'Address',
      'field.source': 'Source',
      'field.notes': 'Notes',
      'field.reported_on': 'Reported on',
      'field.commune': 'Commune',
      'field.province': 'Province',
      'field.coordinates': 'Coordinates (WGS 84)',
      'field.created_at': 'Created',
      'field.updated_at': 'Updated',
      'field.version': 'Version',
      'privacy.note': 'Do not record personal information about people who use drugs',
      'edit.heading': 'Edit',
      'edit.save': 'Save',
      'edit.saving': 'Saving…',
      'edit.saved': 'Saved.',
      'edit.nochange': 'Nothing to save.',
      'edit.conflict': 'Someone else has just updated this hotspot. The latest version has been loaded; your changes are still in the form — check them and press Save again.',
      'transition.heading': 'Change status',
      'transition.on': 'Date',
      'transition.note': 'Note on the change',
      'transition.to': 'Change to: {label}',
      'transition.none': 'No status change is allowed from this status.',
      'transition.busy': 'Changing status…',
      'transition.done': 'Status changed to “{label}”.',
      'history.heading': 'History',
      'history.empty': 'No status changes yet.',
      'history.created': 'Created',
      'history.by': 'by {actor}',
      'history.recorded': 'recorded {t}',
      'history.error': 'Could not load the history',
      'error.generic': 'Something went wrong',
      'error.network': 'Cannot reach the server.',
      'error.forbidden': 'You are not allowed to do this.',
      'basemap.attribution': 'Basemap: Natural Earth',
      'unknown': '—'
    }
  };

  // Fallback vocabulary, used when GET /v1/vocab is unavailable.
  const DEFAULT_VOCAB = {
    kinds: [
      { code: 'diem_ban_le', vi: 'Điểm bán lẻ', en: 'Retail point' },
      { code: 'diem_su_dung', vi: 'Điểm sử dụng', en: 'Use point' },
      { code: 'tu_diem_su_dung', vi: 'Tụ điểm sử dụng', en: 'Organised use site' },
      { code: 'diem_nong', vi: 'Điểm nóng', en: 'Hot point' },
      { code: 'boong_ke', vi: 'Boong-ke', en: 'Bunker (fortified retail point)' },
      { code: 'khac', vi: 'Khác', en: 'Other' }
    ],
    statuses: [
      { code: 'reported', vi: 'Phát hiện', en: 'Reported', color: '#e67e22' },
      { code: 'verifying', vi: 'Đang xác minh, đấu tranh', en: 'Being verified / fought', color: '#f1c40f' },
      { code: 'eliminated', vi: 'Đã triệt xóa', en: 'Eliminated', color: '#27ae60' },
      { code: 'reemerged', vi: 'Tái phức tạp', en: 'Re-emerged', color: '#c0392b' }
    ],
    transitions: {
      reported: ['verifying', 'eliminated'],
      verifying: ['eliminated'],
      eliminated: ['reemerged'],
      reemerged: ['verifying', 'eliminated']
    }
  };

  function storedLang() {
    try {
      const v = window.localStorage.getItem(STORAGE_KEY);
      return LANGS.includes(v) ? v : null;
    } catch (_) {
      return null;
    }
  }

  let lang = storedLang() || 'vi';

  function t(key, params) {
    let s = (DICT[lang] && DICT[lang][key]) ?? DICT.vi[key] ?? key;
    if (params) {
      s = s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
    }
    return s;
  }

  function setLang(next) {
    if (!LANGS.includes(next)) return;
    lang = next;
    try {
      window.localStorage.setItem(STORAGE_KEY, next);
    } catch (_) {
      /* private mode: keep it for this page only */
    }
    applyStatic(document);
  }

  /** Fill every element carrying data-i18n* attributes under root. */
  function applyStatic(root) {
    document.documentElement.lang = lang;
    root.querySelectorAll('[data-i18n]').forEach((el) => {
      el.textContent = t(el.getAttribute('data-i18n'));
    });
    for (const attr of ['placeholder', 'title', 'aria-label']) {
      root.querySelectorAll(`[data-i18n-${attr}]`).forEach((el) => {
        el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`)));
      });
    }
  }

  /** Number formatting in the current language (1.234 in Vietnamese). */
  function num(n) {
    try {
      return new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB').format(n);
    } catch (_) {
      return String(n);
    }
  }

  window.VigilI18n = {
    t,
    num,
    setLang,
    applyStatic,
    get lang() {
      return lang;
    },
    LANGS,
    DEFAULT_VOCAB
  };
})();
